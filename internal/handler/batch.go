package handler

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// batch sums up the items of one client request for its placeholders:
// each item runs through the pipeline on a request of its own, whose
// Caddy vars, replacer and log fields are its own, since they are not
// safe for concurrent use and would otherwise hold whichever item ended
// last.
type batch struct {
	parent *http.Request

	mu                                sync.Mutex
	sum                               exchange
	models, providers, upstreamModels []string
}

type batchKey struct{}

// Item is the request of one item.
func (b *batch) Item() *http.Request {
	ctx := context.WithValue(b.parent.Context(), caddyhttp.VarsCtxKey, map[string]any{requestIDVar: requestID(b.parent)})
	ctx = context.WithValue(ctx, caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
	ctx = context.WithValue(ctx, caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, batchKey{}, b)
	return b.parent.WithContext(ctx)
}

// add counts an item that ended.
func (b *batch) add(x *exchange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sum.caller == nil {
		b.sum.caller = x.caller
	}
	b.sum.attempts += x.attempts
	b.sum.usage.PromptTokens += x.usage.PromptTokens
	b.sum.usage.CompletionTokens += x.usage.CompletionTokens
	b.sum.overhead += x.overhead
	b.models = appendNew(b.models, x.model)
	b.providers = appendNew(b.providers, x.provider)
	b.upstreamModels = appendNew(b.upstreamModels, x.upstreamModel)
}

// Done publishes the sum as the client request's placeholders.
func (b *batch) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	x := b.sum
	x.model, x.provider, x.upstreamModel = strings.Join(b.models, ","), strings.Join(b.providers, ","), strings.Join(b.upstreamModels, ",")
	setPlaceholders(b.parent, &x)
	if extra, ok := b.parent.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Add(zap.Inline((*accessLogFields)(&x)))
	}
}

// batchOf is the batch r is an item of, or nil.
func batchOf(r *http.Request) *batch {
	b, _ := r.Context().Value(batchKey{}).(*batch)
	return b
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
