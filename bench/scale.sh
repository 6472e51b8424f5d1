#!/usr/bin/env bash
# Holds STREAMS streams open at once through one gateway process and
# reports its memory and goroutines per open stream. See bench/README.md.
#
# Environment:
#   STREAMS   streams open at once (10000)
#   EVENTS    chunks per stream, one per second (60)
#   RAMP      streams opened per second (1000)
#   TARGET    llm_gateway (default); reverse_proxy, floor (a minimal
#             net/http relay without Caddy) or caddy_floor (the same
#             relay as a Caddy handler, bench/caddyfloor), to compare
#   CADDY_BIN use this prebuilt Caddy instead of building ./cmd/caddy
#   CLIENTS   http1 (default: one connection per stream, as SDKs use) or
#             h2c (HTTP/2 without TLS, many streams to a connection)
#   PROMPT    bytes of each request's user message (short by default)
#   PROFILES  save the gateway's heap and goroutine profiles here
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bench/bin
STREAMS=${STREAMS:-10000}
EVENTS=${EVENTS:-60}
RAMP=${RAMP:-1000}
TARGET=${TARGET:-llm_gateway}
CLIENTS=${CLIENTS:-http1}
H2C=()
SERVERS=
if [[ $CLIENTS == h2c ]]; then
	H2C=(-h2c)
	SERVERS="servers {
		protocols h1 h2c
	}"
fi
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# Each open stream is one client connection to the gateway; the
# upstream's streams share a few HTTP/2 connections.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < STREAMS + 1000)); then
	echo "the open-file limit $(ulimit -n) is too low for $STREAMS streams" >&2
	exit 1
fi

mkdir -p "$BIN"
cd "$ROOT"
if [[ $TARGET == caddy_floor ]]; then go build -o "$BIN/caddy" ./bench/caddyfloor; elif [[ -z ${CADDY_BIN:-} ]]; then go build -o "$BIN/caddy" ./cmd/caddy; elif [[ $(realpath "$CADDY_BIN") != $(realpath -m "$BIN/caddy") ]]; then cp "$CADDY_BIN" "$BIN/caddy"; fi
go build -o "$BIN/scale" ./bench/scale

"$BIN/scale" -events "$EVENTS" -cert-out "$TMP/upstream.pem" -ready-file "$TMP/upstream.addr" &
PIDS+=("$!")
for _ in $(seq 1 100); do [[ -s $TMP/upstream.addr ]] && break; sleep 0.1; done
UPSTREAM=$(cat "$TMP/upstream.addr")

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GW_PORT=$(port)
ADMIN_PORT=$(port)
if [[ $TARGET == reverse_proxy ]]; then
	SITE="reverse_proxy https://$UPSTREAM {
		flush_interval -1
	}"
elif [[ $TARGET == caddy_floor ]]; then
	SITE="route {
		floor_relay https://$UPSTREAM/v1/chat/completions
	}"
else
	SITE="llm_gateway {
		provider up openai {
			base_url https://$UPSTREAM/v1
			api_key scale-key
		}
	}"
fi
cat >"$TMP/Caddyfile" <<CADDY
{
	admin 127.0.0.1:$ADMIN_PORT
	auto_https off
	persist_config off
	$SERVERS
	log {
		level WARN
	}
}

http://127.0.0.1:$GW_PORT {
	$SITE
}
CADDY

# The upstream's self-signed certificate is trusted through Go's
# SSL_CERT_FILE, so the config is what a real deployment would use.
if [[ $TARGET == floor ]]; then
	SSL_CERT_FILE=$TMP/upstream.pem "$BIN/scale" -relay "127.0.0.1:$GW_PORT" -admin "127.0.0.1:$ADMIN_PORT" -upstream "$UPSTREAM" "${H2C[@]}" >"$TMP/caddy.log" 2>&1 &
else
	SSL_CERT_FILE=$TMP/upstream.pem "$BIN/caddy" run --adapter caddyfile --config "$TMP/Caddyfile" >"$TMP/caddy.log" 2>&1 &
fi
GW_PID=$!
PIDS+=("$GW_PID")
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break
	sleep 0.1
done

echo "$TARGET, $CLIENTS clients, $STREAMS streams of $EVENTS chunks, one chunk a second, opened at $RAMP/s"
"$BIN/scale" -gateway "http://127.0.0.1:$GW_PORT/v1/chat/completions" -pid "$GW_PID" -admin "127.0.0.1:$ADMIN_PORT" \
	-streams "$STREAMS" -events "$EVENTS" -ramp "$RAMP" -prompt-bytes "${PROMPT:-0}" "${H2C[@]}" ${PROFILES:+-profiles "$PROFILES"} || { tail -20 "$TMP/caddy.log" >&2; exit 1; }
