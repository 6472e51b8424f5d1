#!/usr/bin/env bash
# The long soak: builds the gateway (./cmd/caddy) and bench/soak, runs the
# gateway as its own process in front of the fault upstream, and drives
# SOAK_STREAMS concurrent streams through it for SOAK_DURATION while the
# upstream drops, stalls, trickles and sends garbage and clients abort.
# Prints a report; exits non-zero when a stream went wrong, a byte was
# lost, goroutines did not come back, or RSS grew by more than 20% between
# the first minute and the end.
#
#   bench/soak.sh                                  # 500 streams, 10 minutes
#   SOAK_STREAMS=200 SOAK_DURATION=3m bench/soak.sh
#   SOAK_SEED=42 bench/soak.sh                     # repeat a run's choices
set -euo pipefail
cd "$(dirname "$0")/.."

streams="${SOAK_STREAMS:-500}"
duration="${SOAK_DURATION:-10m}"
bin="bench/bin"
mkdir -p "$bin"

echo "== building the gateway and the soak driver"
go build -o "$bin/caddy" ./cmd/caddy
go build -o "$bin/soak" ./bench/soak

# Each stream holds two connections (client to gateway, gateway to upstream).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work="$(mktemp -d)"
args=(-caddy "$bin/caddy" -streams "$streams" -duration "$duration" -dir "$work")
if [ -n "${SOAK_SEED:-}" ]; then
	args+=(-seed "$SOAK_SEED")
fi
echo "== soak: $streams streams for $duration (gateway log and Caddyfile in $work)"
exec "$bin/soak" "${args[@]}"
