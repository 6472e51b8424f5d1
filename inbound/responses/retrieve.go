package responses

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// serveGet answers GET /v1/responses/{id} with a kept response.
func (d *Door) serveGet(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	d.withStored(hub, w, r, func(c inbound.Catalog, s *stored) {
		if stream := r.URL.Query().Get("stream"); stream != "" && stream != "false" {
			d.answerError(c, w, translate.Unsupported("stream", "a kept response cannot be streamed again through the gateway; get it without `stream`"))
			return
		}
		writeJSON(c, w, s.response)
	})
}

// serveDelete answers DELETE /v1/responses/{id}: the response is
// forgotten.
func (d *Door) serveDelete(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	d.withStored(hub, w, r, func(c inbound.Catalog, s *stored) {
		if err := d.Store.delete(s.caller, s.id); err != nil {
			d.answerError(c, w, storeFailed(hub, w, err))
			return
		}
		body, _ := providers.MarshalJSON(struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Deleted bool   `json:"deleted"`
		}{s.id, "response", true})
		writeJSON(c, w, body)
	})
}

// itemList is a page of a response's input items.
type itemList struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID string            `json:"first_id"`
	LastID  string            `json:"last_id"`
	HasMore bool              `json:"has_more"`
}

// serveInputItems answers GET /v1/responses/{id}/input_items: the items
// of the response's own input, newest first unless `order=asc`, `limit`
// (1 to 100, default 20) at a time, those after the item `after`.
func (d *Door) serveInputItems(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	d.withStored(hub, w, r, func(c inbound.Catalog, s *stored) {
		q := r.URL.Query()
		limit := 20
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				d.answerError(c, w, translate.Invalid("limit", "limit must be an integer from 1 to 100"))
				return
			}
			limit = n
		}
		items := slices.Clone(s.input())
		switch q.Get("order") {
		case "", "desc":
			slices.Reverse(items)
		case "asc":
		default:
			d.answerError(c, w, translate.Invalid("order", "order must be asc or desc"))
			return
		}
		if after := q.Get("after"); after != "" {
			i := slices.IndexFunc(items, func(it json.RawMessage) bool { return itemID(it) == after })
			if i < 0 {
				d.answerError(c, w, translate.Invalid("after", "no input item of this response has the id `after` names"))
				return
			}
			items = items[i+1:]
		}
		page := itemList{Object: "list", Data: items[:min(limit, len(items))], HasMore: len(items) > limit}
		if len(page.Data) > 0 {
			page.FirstID, page.LastID = itemID(page.Data[0]), itemID(page.Data[len(page.Data)-1])
		}
		body, _ := providers.MarshalJSON(page)
		writeJSON(c, w, body)
	})
}

// itemID is a kept item's id.
func itemID(item json.RawMessage) string {
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(item, &head)
	return head.ID
}

// withStored authenticates the caller and runs fn with the response the
// request names, or answers 404 when the caller has none of that id. A
// response a provider keeps is asked of that provider instead.
func (d *Door) withStored(hub inbound.Hub, w http.ResponseWriter, r *http.Request, fn func(inbound.Catalog, *stored)) {
	c, perr := hub.Catalog(r)
	if perr != nil {
		d.answerError(c, w, perr)
		return
	}
	id := r.PathValue("id")
	var s *stored
	if d.Store != nil {
		var err error
		if s, err = d.Store.get(c.CallerID(), id); err != nil {
			d.answerError(c, w, storeFailed(hub, w, err))
			return
		}
	}
	if s == nil {
		e := providers.NewError(http.StatusNotFound, "not_found", "Response with id '"+providers.Clip(id, 256)+"' not found.")
		e.Param = "response_id"
		d.answerError(c, w, e)
		return
	}
	if s.holder != "" {
		d.relayKept(c, w, r, s)
		return
	}
	fn(c, s)
}

// answerError answers with e, after the gateway's own headers.
func (d *Door) answerError(c inbound.Catalog, w http.ResponseWriter, e *providers.Error) {
	c.WriteHeaders(w.Header())
	d.WriteError(w, e, false)
}

// writeJSON answers 200 with body, after the gateway's own headers.
func writeJSON(c inbound.Catalog, w http.ResponseWriter, body []byte) {
	c.WriteHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
