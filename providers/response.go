package providers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/dustin/go-humanize"
)

// DefaultMaxResponseBody bounds a non-streamed upstream answer unless
// max_response_body says otherwise. It is generous because embeddings of
// a large batch are large: 2048 inputs of 1536 floats are about 45 MB of
// JSON.
const DefaultMaxResponseBody = 64 << 20

// CodeResponseTooLarge is the error code of an answer larger than
// max_response_body. Another try would cost as much and be as large, so
// the gateway does not retry it.
const CodeResponseTooLarge = "upstream_response_too_large"

// maxResponseHeader bounds the response headers of an upstream.
const maxResponseHeader = 1 << 20

// answerBody is the body of an upstream answer: it gives the call's slot
// back when closed, and refuses to read past the size cap.
type answerBody struct {
	io.ReadCloser
	left     int64 // bytes still allowed; -1 when uncapped (streams)
	tooLarge func() *Error
	release  func()
	once     sync.Once
}

// Read reads up to the cap; one byte more is an error, as with
// http.MaxBytesReader.
func (a *answerBody) Read(p []byte) (int, error) {
	if a.left < 0 {
		return a.ReadCloser.Read(p)
	}
	if int64(len(p)) > a.left+1 {
		p = p[:a.left+1]
	}
	n, err := a.ReadCloser.Read(p)
	if int64(n) > a.left {
		n, a.left = int(a.left), 0
		return n, a.tooLarge()
	}
	a.left -= int64(n)
	return n, err
}

// Close closes the body and gives the slot back, once.
func (a *answerBody) Close() error {
	err := a.ReadCloser.Close()
	a.once.Do(a.release)
	return err
}

func (b *Base) maxResponseBody() int64 {
	if b.MaxResponseBody > 0 {
		return b.MaxResponseBody
	}
	return DefaultMaxResponseBody
}

// responseTooLarge is the error for an answer over max_response_body. It
// names the provider and the limit, never the upstream's address.
func (b *Base) responseTooLarge() *Error {
	limit := humanize.IBytes(uint64(b.maxResponseBody()))
	return NewError(http.StatusBadGateway, CodeResponseTooLarge, fmt.Sprintf(
		"the upstream provider %s answered with more than %s, its max_response_body; raise max_response_body if such answers are expected", b.Name, limit))
}

// CapBody bounds resp's body by max_response_body, refusing at once an
// answer whose declared length is over it. Whole answers are bounded
// already; a provider calls it for a stream it gathers into one answer.
func (b *Base) CapBody(resp *http.Response) error {
	limit := b.maxResponseBody()
	if resp.ContentLength > limit {
		return b.responseTooLarge()
	}
	if a, ok := resp.Body.(*answerBody); ok {
		if a.left < 0 {
			a.left, a.tooLarge = limit, b.responseTooLarge
		}
		return nil
	}
	resp.Body = &answerBody{ReadCloser: resp.Body, left: limit, tooLarge: b.responseTooLarge, release: func() {}}
	return nil
}

// ReadBody reads a whole non-streamed answer, at most max_response_body
// of it, and closes it.
func (b *Base) ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if err := b.CapBody(resp); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return raw, nil
}
