package responses

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// relayNatively lets a target that serves the Responses API itself (an
// openai or azure provider) get the request as the client wrote it, only
// `model` rewritten. A response it answers with `store` stays its
// upstream's: the store remembers, for the caller, which provider keeps
// it, and its GET, DELETE and input items are asked of that provider.
func (d *Door) relayNatively(x *inbound.Exchange, req *createRequest, body []byte, t *translator) {
	x.API, x.Body, x.Meter = providers.Responses, body, newRelayMeter
	if d.Store == nil || !req.storing() {
		return
	}
	x.Relayed = func(provider string, meter inbound.UsageMeter) {
		if id := meter.(*relayMeter).responseID(); id != "" {
			d.Store.put(&stored{id: id, caller: t.caller, holder: provider})
		}
	}
}

// continueNatively prepares the request that continues prev for a
// target that serves the Responses API itself. A response another
// provider keeps pins the request to that provider, the only one that
// knows it. The gateway's own (a translated response) is spelled out:
// its conversation goes before the request's input, without the item ids
// and reasoning items only the gateway knows, and previous_response_id
// is dropped.
func continueNatively(x *inbound.Exchange, req *createRequest, prev *stored) *providers.Error {
	if prev.holder != "" {
		e := providers.NewError(http.StatusBadRequest, "previous_response_unavailable",
			"Previous response with id '"+providers.Clip(prev.id, 256)+"' is kept by the provider "+prev.holder+
				", which does not serve this model through the gateway any more; send the whole conversation in `input` instead.")
		e.Param = "previous_response_id"
		x.Pin = &inbound.Pin{Provider: prev.holder, Refusal: e}
		return nil
	}
	items := make([]json.RawMessage, 0, len(prev.context)+len(prev.output)+1)
	for _, it := range prev.conversation() {
		if it = portableItem(it); it != nil {
			items = append(items, it)
		}
	}
	input, err := json.Marshal(append(items, clientItems(req.Input)...))
	if err == nil {
		x.Body, err = jsonscan.Set(x.Body, "input", input)
	}
	if err == nil {
		x.Body, _, err = jsonscan.Remove(x.Body, "previous_response_id")
	}
	if err != nil {
		return providers.NewError(http.StatusBadRequest, "", "invalid request body: "+err.Error())
	}
	return nil
}

// portableItem is a kept item as another provider may read it: without
// the id the gateway gave it; nil for a reasoning item, whose content
// only the provider that wrote it can read back.
func portableItem(item json.RawMessage) json.RawMessage {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(item, &head) != nil || head.Type == "reasoning" {
		return nil
	}
	out, _, err := jsonscan.Remove(item, "id")
	if err != nil {
		return nil
	}
	return out
}

// clientItems is the request's input as a list of items, as the client
// wrote them: a string is one user message. The input was checked as
// the request was read.
func clientItems(raw json.RawMessage) []json.RawMessage {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		msg, _ := json.Marshal(map[string]string{"role": "user", "content": text})
		return []json.RawMessage{msg}
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	return items
}

// relayKept answers a GET or DELETE of a response s.holder keeps, or of
// its input items, with what that provider's upstream answers. A
// response it deleted is forgotten here too.
func (d *Door) relayKept(c inbound.Catalog, w http.ResponseWriter, r *http.Request, s *stored) {
	t, ok := holderTarget(c, s.holder)
	if !ok {
		e := providers.NewError(http.StatusNotFound, "not_found", "Response with id '"+providers.Clip(s.id, 256)+
			"' is kept by the provider "+s.holder+", which this gateway no longer serves.")
		e.Param = "response_id"
		d.answerError(c, w, e)
		return
	}
	path := url.PathEscape(s.id)
	if strings.HasSuffix(r.URL.Path, "/input_items") {
		path += "/input_items"
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var resp *providers.Response
	err := c.Ask(r.Context(), t, func(ctx context.Context, callerKey string) error {
		var err error
		resp, err = t.Provider.(providers.ResponseKeeper).KeptResponse(ctx, method, path, r.URL.RawQuery, callerKey)
		return err
	})
	if err != nil {
		pe, ok := errors.AsType[*providers.Error](err)
		if !ok {
			pe = providers.NewError(http.StatusBadGateway, "upstream_error", "the provider "+s.holder+" could not be reached")
		}
		if pe.Status == http.StatusNotFound && method == http.MethodDelete {
			_ = d.Store.delete(s.caller, s.id) // the upstream has it no more, whatever the gateway remembers
		}
		d.answerError(c, w, pe)
		return
	}
	defer resp.Close()
	if method == http.MethodDelete {
		_ = d.Store.delete(s.caller, s.id) // the upstream has it no more, whatever the gateway remembers
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	c.WriteHeaders(h)
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if resp.Length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.Length, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, resp.Body)
}

// holderTarget is a target of the caller's routes whose provider is the
// named one and keeps the responses it serves.
func holderTarget(c inbound.Catalog, provider string) (inbound.Target, bool) {
	for _, rt := range append(c.Routes(), c.Wildcard()) {
		for _, t := range rt.Targets {
			if _, keeps := t.Provider.(providers.ResponseKeeper); keeps && t.Provider.Config().Name == provider {
				return t, true
			}
		}
	}
	return inbound.Target{}, false
}
