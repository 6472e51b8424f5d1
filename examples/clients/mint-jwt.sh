#!/bin/sh
# Prints an HS256 JSON Web Token for trying out `auth jwt { secret ... }`,
# made with openssl alone. For tests: real tokens come from your identity
# provider.
#
# Environment variables:
#   JWT_SECRET  the gateway's `secret` (at least 32 bytes); required
#   SUB         the caller's identity, the `sub` claim (default: alice)
#   TTL         seconds until the token expires, the `exp` claim (default: 3600)
#   ISS         the `iss` claim, for the gateway's `issuer` (default: none)
#   AUD         the `aud` claim, for the gateway's `audience` (default: none)
#   MODELS      space-separated model names, the `models` claim, for the
#               gateway's `models_claim models` (default: none)
#
# Run:
#   export JWT_SECRET=$(openssl rand -hex 32)
#   TOKEN=$(SUB=alice MODELS="gpt-4o-mini" sh examples/clients/mint-jwt.sh)
set -eu

: "${JWT_SECRET:?set JWT_SECRET to the gateway's secret}"
SUB=${SUB:-alice}
TTL=${TTL:-3600}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
claims='"sub":"'"$SUB"'","iat":'"$now"',"exp":'"$((now + TTL))"
if [ -n "${ISS:-}" ]; then claims="$claims"',"iss":"'"$ISS"'"'; fi
if [ -n "${AUD:-}" ]; then claims="$claims"',"aud":"'"$AUD"'"'; fi
if [ -n "${MODELS:-}" ]; then claims="$claims"',"models":"'"$MODELS"'"'; fi

header=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url)
payload=$(printf '{%s}' "$claims" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
