// Command caddyfloor is Caddy with one extra handler, floor_relay: the
// streaming relay of bench/scale's floor (send the request upstream, copy
// the answer back, flush after every read) as a Caddy module. What one
// open stream costs it is the floor under any Caddy handler that holds a
// stream open; bench/scale.sh runs it with TARGET=caddy_floor.
package main

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/llmgateway/caddy-llm-gateway/bench/floorrelay"
)

func init() {
	caddy.RegisterModule(Relay{})
	httpcaddyfile.RegisterHandlerDirective("floor_relay", parseRelay)
}

func main() {
	caddycmd.Main()
}

// Relay is floorrelay.Relay as a Caddy handler.
type Relay struct {
	// Target is the upstream URL every request goes to.
	Target string `json:"target"`

	transport *http.Transport
}

// CaddyModule returns the Caddy module information.
func (Relay) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.floor_relay",
		New: func() caddy.Module { return new(Relay) },
	}
}

// Provision makes the transport, as bench/scale's floor does.
func (r *Relay) Provision(caddy.Context) error {
	r.transport = floorrelay.NewTransport()
	return nil
}

// ServeHTTP relays the request and ends the chain: nothing runs after
// it.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request, _ caddyhttp.Handler) error {
	if status, err := floorrelay.Relay(w, req, r.transport, r.Target); err != nil {
		return caddyhttp.Error(status, err)
	}
	return nil
}

// UnmarshalCaddyfile reads `floor_relay <target>`.
func (r *Relay) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if !d.AllArgs(&r.Target) {
		return d.ArgErr()
	}
	return nil
}

func parseRelay(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	r := new(Relay)
	err := r.UnmarshalCaddyfile(h.Dispenser)
	return r, err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Relay)(nil)
	_ caddyhttp.MiddlewareHandler = (*Relay)(nil)
	_ caddyfile.Unmarshaler       = (*Relay)(nil)
)
