package handler

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// setPlaceholders publishes the exchange as the {http.llm_gateway.*}
// placeholders the module documents, and as Caddy vars.
func setPlaceholders(r *http.Request, x *exchange) {
	ctx := r.Context()
	if repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.llm_gateway.model", x.model)
		repl.Set("http.llm_gateway.provider", x.provider)
		repl.Set("http.llm_gateway.upstream_model", x.upstreamModel)
		repl.Set("http.llm_gateway.attempts", x.attempts)
		repl.Set("http.llm_gateway.prompt_tokens", x.usage.PromptTokens)
		repl.Set("http.llm_gateway.completion_tokens", x.usage.CompletionTokens)
		repl.Set("http.llm_gateway.overhead_ms", float64(x.overhead)/float64(time.Millisecond))
		repl.Set("http.llm_gateway.cost", x.costText())
	}
	// The same values as Caddy vars, which the access log can include
	// (`log_append`) and matchers can test, e.g. {http.vars.llm_gateway.model}.
	// The table is looked up once: caddyhttp.SetVar walks the whole
	// context chain for every value.
	if vars, ok := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		vars["llm_gateway.model"] = x.model
		vars["llm_gateway.provider"] = x.provider
		vars["llm_gateway.upstream_model"] = x.upstreamModel
		vars["llm_gateway.key"] = x.callerName()
		vars["llm_gateway.stream"] = x.stream
		vars["llm_gateway.attempts"] = x.attempts
		vars["llm_gateway.prompt_tokens"] = x.usage.PromptTokens
		vars["llm_gateway.completion_tokens"] = x.usage.CompletionTokens
		vars["llm_gateway.ttft_ms"] = float64(x.firstByte) / float64(time.Millisecond)
		vars["llm_gateway.overhead_ms"] = float64(x.overhead) / float64(time.Millisecond)
		vars["llm_gateway.cost"] = x.costText()
	}
}

// costText is the call's cost in USD, "" when it has no price.
func (x *exchange) costText() string {
	if !x.priced {
		return ""
	}
	return x.cost.String()
}
