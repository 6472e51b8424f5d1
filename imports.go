package llmgateway

// The built-in providers register themselves as Caddy modules when
// imported; xcaddy only imports this package, so it imports them all.
import (
	_ "github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/azure"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/dashscope"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/gemini"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/mock"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/ollama"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/openai"
)
