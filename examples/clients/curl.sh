#!/bin/sh
# Calls the gateway with curl: a chat completion, the same streamed, the
# model list, and a request the gateway refuses.
#
# Environment variables (all optional):
#   OPENAI_BASE_URL  the gateway's /v1 URL (default http://localhost:8080/v1)
#   OPENAI_API_KEY   a key the gateway accepts, when it has `auth keys`
#   MODEL            the model to ask for (default gpt-4o-mini)
#
# Run against the quickstart:
#   go run ./cmd/caddy run --config examples/quickstart.Caddyfile   # in one terminal
#   sh examples/clients/curl.sh                                     # in another
set -eu

BASE_URL=${OPENAI_BASE_URL:-http://localhost:8080/v1}
MODEL=${MODEL:-gpt-4o-mini}

# Send the key only when one is set.
gw() {
	if [ -n "${OPENAI_API_KEY:-}" ]; then
		curl -sS -H "Authorization: Bearer $OPENAI_API_KEY" "$@"
	else
		curl -sS "$@"
	fi
	echo
}

echo '# chat completion'
gw "$BASE_URL/chat/completions" \
	-H 'Content-Type: application/json' \
	-d '{"model":"'"$MODEL"'","messages":[{"role":"user","content":"Hello, gateway!"}]}'

echo '# streamed chat completion, with usage at the end'
gw -N "$BASE_URL/chat/completions" \
	-H 'Content-Type: application/json' \
	-d '{"model":"'"$MODEL"'","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello, gateway!"}]}'

echo '# models'
gw "$BASE_URL/models"

echo '# an error: no messages (HTTP status on the last line)'
gw -w '%{http_code}' "$BASE_URL/chat/completions" \
	-H 'Content-Type: application/json' \
	-d '{"model":"'"$MODEL"'","messages":[]}'
