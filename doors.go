package llmgateway

import (
	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/messages"
	"github.com/llmgateway/caddy-llm-gateway/inbound/native"
	"github.com/llmgateway/caddy-llm-gateway/inbound/responses"
)

// doors are the client-facing APIs the gateway serves beside OpenAI's;
// each is a package under inbound/ and one line here.
func (g *Gateway) doors() []inbound.Door {
	return []inbound.Door{
		&native.Door{BatchConcurrency: g.BatchConcurrency, BatchMax: g.BatchMax},
		&messages.Door{},
		&responses.Door{Store: g.responses},
	}
}
