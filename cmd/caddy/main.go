// Command caddy is Caddy with its standard modules and llm_gateway: the
// same binary `xcaddy build --with github.com/llmgateway/caddy-llm-gateway`
// produces.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/llmgateway/caddy-llm-gateway"
)

func main() {
	caddycmd.Main()
}
