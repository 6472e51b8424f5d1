package llmgateway

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// FuzzCaddyfile checks that parsing any llm_gateway block returns an error
// or a config, and never panics.
func FuzzCaddyfile(f *testing.F) {
	for _, s := range []string{
		`llm_gateway`,
		`llm_gateway {
	provider up openai {
		base_url https://api.openai.com/v1
		api_key {env.OPENAI_API_KEY}
	}
	provider echo mock {
		models echo
	}
	model fast up/gpt-4o-mini echo
	model * up
	default_model fast
	auth keys {
		key sk-1 alice {
			models fast
			rate_limit 10/1m
			token_limit 1000/1h
		}
		key sha256:0000000000000000000000000000000000000000000000000000000000000000
	}
	rate_limit 60/1m
	token_limit 100000/1h
	token_reserve 512
	rate_limit_store redis redis://localhost:6379/0
	on_store_error deny
	max_body 8MB
	timeout 30s
	batch_concurrency 4
	batch_max 100
}`,
		`llm_gateway {
	auth jwt {
		secret abc
	}
}`,
		`llm_gateway {
	auth passthrough
	provider claude anthropic {
		max_tokens 1000
	}
	provider ds dashscope
	provider g gemini
	provider o ollama
	provider az azure
}`,
		`llm_gateway extra {
	model
	max_body -1
	timeout forever
	rate_limit 0/0s
	auth keys
	provider
}`,
		"llm_gateway {\n\tprovider {\n\t\t}}}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// NewTestDispenser exits the process on input that does not
		// tokenize; such input never reaches a directive's parser.
		if _, err := caddyfile.Tokenize([]byte(input), "Testfile"); err != nil {
			return
		}
		var g Gateway
		_ = g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	})
}
