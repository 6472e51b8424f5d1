package handler

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// hostOf is the host and port p calls, or empty for a provider with no
// upstream of its own (mock).
func hostOf(p providers.Provider) string {
	if u := p.Config().URL(); u != nil {
		return u.Host
	}
	return ""
}

// noteCause keeps the cause of a failed call's error for the log line.
func (x *exchange) noteCause(err error) {
	if cause, _ := failureCause(err); cause != "" {
		x.failureCause = cause
	}
}

// failureCause says in a few words why a call got no answer from its
// upstream, for the log (never the client, to whom addresses are none of
// its business), and whether the upstream could not be reached at all,
// which says the same of every model of the provider. It is empty for
// errors the upstream itself answered with, and for those it cannot name.
func failureCause(err error) (cause string, unreachable bool) {
	if err == nil {
		return "", false
	}
	if _, ok := errors.AsType[*providers.Error](err); ok {
		return "", false
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		switch {
		case dns.IsNotFound:
			return "DNS lookup failed: no such host", true
		case dns.IsTimeout:
			return "DNS lookup timed out", true
		}
		return "DNS lookup failed", true
	}
	if v, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "TLS certificate not accepted: " + certProblem(v.Err), true
	}
	// net/http turns the handshake's RecordHeaderError into a text.
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "TLS handshake failed: the upstream does not speak TLS on that port (base_url https:// for an http:// server?)", true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return "TLS handshake failed: the upstream refused it", true
	}
	op, isOp := errors.AsType[*net.OpError](err)
	dial := isOp && op.Op == "dial"
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens on that address", true
	case dial && op.Timeout():
		return "connecting timed out", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host", true
	case dial:
		return "could not connect", true
	case errors.Is(err, syscall.ECONNRESET):
		return "the upstream reset the connection", false
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the upstream closed the connection", false
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "timed out", false
	}
	return "", false
}

// certProblem names what is wrong with a certificate.
func certProblem(err error) string {
	switch {
	case errors.As(err, new(x509.UnknownAuthorityError)):
		return "signed by an unknown authority"
	case errors.As(err, new(x509.HostnameError)):
		return "issued for another host name"
	case errors.As(err, new(x509.CertificateInvalidError)):
		return "expired or not valid for this use"
	}
	return "verification failed"
}
