#!/usr/bin/env bash
# Benchmarks llm_gateway against a plain Caddy reverse_proxy and against the
# upstream reached directly, on loopback only. See bench/README.md.
#
# Environment:
#   ROUNDS     rounds per scenario; the median of each metric is reported (3)
#   N          measured requests per run, overriding every scenario's default
#   CADDY_BIN  use this prebuilt Caddy (it must include llm_gateway) instead of
#              building ./cmd/caddy
#   GW_MODEL   model name sent to llm_gateway (bench-model)
#   ONLY       run only the scenarios whose name matches this extended
#              regular expression
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
BIN=$BENCH/bin
RESULTS=$BENCH/results
ROUNDS=${ROUNDS:-3}
N=${N:-}
GW_MODEL=${GW_MODEL:-bench-model}
ONLY=${ONLY:-}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# Scenarios: name, concurrency, stream (0: no; 1: yes; 2: yes, and the
# client asks for usage with stream_options.include_usage), default request
# count, warm-up, content chunks per stream, and the API the client speaks
# (chat when left out; see api_targets).
SCENARIOS=(
	"nonstream-c1 1 0 4000 300 50"
	"nonstream-c64 64 0 12000 1280 50"
	"nonstream-c256 256 0 12000 2560 50"
	"stream50-c1 1 1 3000 300 50"
	"stream50-c64 64 1 8000 640 50"
	"stream50u-c1 1 2 3000 300 50"
	"stream50u-c64 64 2 8000 640 50"
	"stream500-c1 1 1 1200 40 500"
	"stream500-c64 64 1 2560 128 500"
	"stream500u-c1 1 2 1200 40 500"
	"stream500u-c64 64 2 2560 128 500"
	"responses-nonstream-c1 1 0 4000 300 50 responses"
	"responses-nonstream-c64 64 0 12000 1280 50 responses"
	"messages-nonstream-c1 1 0 4000 300 50 messages"
	"messages-nonstream-c64 64 0 12000 1280 50 messages"
	"responses50-c1 1 1 3000 300 50 responses"
	"responses50-c64 64 1 4000 640 50 responses"
	"messages50-c1 1 1 3000 300 50 messages"
	"messages50-c64 64 1 4000 640 50 messages"
)
TARGETS=(direct reverse_proxy reverse_proxy_warm llm_gateway llm_gateway_auth_limit llm_gateway_translate)

# api_targets API prints the targets of the scenarios of API, and
# api_path API the path it is served on. A Responses request is
# translated by llm_gateway (its openai provider set to `responses
# translate`) to the chat request of stream50u, and relayed untouched by
# llm_gateway_auth_limit (an openai provider as it comes); a Messages
# request is translated by llm_gateway and relayed untouched by
# llm_gateway_translate (an anthropic provider). reverse_proxy is in front
# of the upstream's own Responses or Messages API. A target whose name
# ends in _chat is the process of its name's start asked the same as a chat
# client that asks for usage: the doors' measure, taken in the same minutes.
api_targets() {
	case $1 in
	chat) echo "${TARGETS[@]}" ;;
	responses) echo reverse_proxy llm_gateway llm_gateway_chat llm_gateway_auth_limit llm_gateway_auth_limit_chat ;;
	messages) echo reverse_proxy llm_gateway llm_gateway_chat llm_gateway_translate ;;
	esac
}
api_path() {
	case $1 in
	chat) echo /v1/chat/completions ;;
	responses) echo /v1/responses ;;
	messages) echo /v1/messages ;;
	esac
}

PIDS=()
TMP=$(mktemp -d)

log() { printf '%s\n' "$*" >&2; }

cleanup() {
	local pid i
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build() {
	log "building into $BIN"
	mkdir -p "$BIN" "$RESULTS"
	cd "$ROOT"
	if [[ -n ${CADDY_BIN:-} ]]; then
		cp "$CADDY_BIN" "$BIN/caddy"
	else
		go build -o "$BIN/caddy" ./cmd/caddy
	fi
	go build -o "$BIN/upstream" ./bench/upstream
	go build -o "$BIN/load" ./bench/load
	go build -o "$BIN/report" ./bench/report
}

# port_open PORT succeeds when something accepts connections on PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR stores in VAR a loopback port that nothing listens on and
# that no earlier call returned. Ports are taken below the usual ephemeral
# range so that client connections cannot occupy them.
USED_PORTS=" "
free_port() {
	local p _
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! port_open "$p"; then
			USED_PORTS+="$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# start NAME CMD... runs CMD in the background, logging to $TMP/NAME.log, and
# records its PID in the variable named NAME_PID.
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=("$!")
	printf -v "${name}_PID" '%s' "$!"
}

# wait_ready NAME PID PORT waits until PORT accepts connections, failing if
# the process exits or 15 s pass.
wait_ready() {
	local name=$1 pid=$2 port=$3 i
	for i in $(seq 1 150); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited during start-up:"
			cat "$TMP/$name.log" >&2
			return 1
		fi
		port_open "$port" && return 0
		sleep 0.1
	done
	log "$name did not listen on port $port within 15 s:"
	cat "$TMP/$name.log" >&2
	return 1
}

# responses_translate sets RESPONSES_TRANSLATE to the provider option that
# makes an openai provider translate Responses requests (the fake upstream
# has no Responses API of its own), when this build of Caddy has it: a
# build without it translates them anyway.
responses_translate() {
	RESPONSES_TRANSLATE=$'\n\t\t\tresponses translate'
	cat >"$TMP/probe.Caddyfile" <<EOF
http://127.0.0.1:1 {
	llm_gateway {
		provider up openai {$RESPONSES_TRANSLATE
		}
	}
}
EOF
	"$BIN/caddy" validate --adapter caddyfile --config "$TMP/probe.Caddyfile" >/dev/null 2>&1 || RESPONSES_TRANSLATE=
}

write_caddyfiles() {
	responses_translate
	cat >"$TMP/reverse_proxy.Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$RP_PORT {
	reverse_proxy 127.0.0.1:$UP_PORT {
		flush_interval -1
	}
}
EOF
	# reverse_proxy keeps 32 idle upstream connections by default, so more
	# concurrent requests than that keep dialing new ones; this one keeps
	# as many warm as the gateway does.
	cat >"$TMP/reverse_proxy_warm.Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$WARM_PORT {
	reverse_proxy 127.0.0.1:$UP_PORT {
		flush_interval -1
		transport http {
			keepalive_idle_conns_per_host 256
		}
	}
}
EOF
	cat >"$TMP/llm_gateway.Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$GW_PORT {
	llm_gateway {
		provider up openai {
			base_url http://127.0.0.1:$UP_PORT/v1
			api_key bench-key$RESPONSES_TRANSLATE
		}
	}
}
EOF
	# A translating gateway: OpenAI requests to the Anthropic Messages API
	# of the fake upstream, its answers and events back to OpenAI's format.
	cat >"$TMP/llm_gateway_translate.Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$TR_PORT {
	llm_gateway {
		provider up anthropic {
			base_url http://127.0.0.1:$UP_PORT
			api_key bench-key
		}
	}
}
EOF
	# The same gateway behind key auth and a memory-store request limit set
	# high enough never to refuse: what the auth and limit step costs.
	cat >"$TMP/llm_gateway_auth_limit.Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$LIM_PORT {
	llm_gateway {
		provider up openai {
			base_url http://127.0.0.1:$UP_PORT/v1
			api_key bench-key
		}
		auth keys {
			key bench-client-key bench
		}
		rate_limit 1000000000 1m
	}
}
EOF
	local t
	for t in reverse_proxy reverse_proxy_warm llm_gateway llm_gateway_auth_limit llm_gateway_translate; do
		if ! "$BIN/caddy" validate --adapter caddyfile --config "$TMP/$t.Caddyfile" >"$TMP/$t.validate.log" 2>&1; then
			log "invalid $t Caddyfile:"
			cat "$TMP/$t.validate.log" >&2
			return 1
		fi
	done
}

start_servers() {
	free_port UP_PORT
	free_port RP_PORT
	free_port WARM_PORT
	free_port GW_PORT
	free_port LIM_PORT
	free_port TR_PORT
	write_caddyfiles
	start upstream "$BIN/upstream" -addr "127.0.0.1:$UP_PORT"
	wait_ready upstream "$upstream_PID" "$UP_PORT"
	start reverse_proxy "$BIN/caddy" run --adapter caddyfile --config "$TMP/reverse_proxy.Caddyfile"
	wait_ready reverse_proxy "$reverse_proxy_PID" "$RP_PORT"
	start reverse_proxy_warm "$BIN/caddy" run --adapter caddyfile --config "$TMP/reverse_proxy_warm.Caddyfile"
	wait_ready reverse_proxy_warm "$reverse_proxy_warm_PID" "$WARM_PORT"
	start llm_gateway "$BIN/caddy" run --adapter caddyfile --config "$TMP/llm_gateway.Caddyfile"
	wait_ready llm_gateway "$llm_gateway_PID" "$GW_PORT"
	start llm_gateway_auth_limit "$BIN/caddy" run --adapter caddyfile --config "$TMP/llm_gateway_auth_limit.Caddyfile"
	wait_ready llm_gateway_auth_limit "$llm_gateway_auth_limit_PID" "$LIM_PORT"
	start llm_gateway_translate "$BIN/caddy" run --adapter caddyfile --config "$TMP/llm_gateway_translate.Caddyfile"
	wait_ready llm_gateway_translate "$llm_gateway_translate_PID" "$TR_PORT"
	log "upstream :$UP_PORT  reverse_proxy :$RP_PORT (pid $reverse_proxy_PID)  llm_gateway :$GW_PORT (pid $llm_gateway_PID)"
}

# run_load ROUND SCENARIO CONC STREAM COUNT WARMUP CHUNKS API TARGET
# appends one result line to the results file.
run_load() {
	local round=$1 scenario=$2 conc=$3 stream=$4 count=$5 warmup=$6 chunks=$7 api=$8 target=$9
	local process=${target%_chat} path
	if [[ $process != "$target" ]]; then
		api=chat
		[[ $stream != 0 ]] && stream=2
	fi
	path=$(api_path "$api")
	local args=(-scenario "$scenario" -target "$target" -round "$round" -api "$api"
		-c "$conc" -n "$count" -warmup "$warmup" -chunks "$chunks" -clk-tck "$CLK_TCK")
	[[ $stream != 0 ]] && args+=(-stream)
	[[ $stream == 2 ]] && args+=(-include-usage)
	case $process in
	direct) args+=(-url "http://127.0.0.1:$UP_PORT$path") ;;
	reverse_proxy) args+=(-url "http://127.0.0.1:$RP_PORT$path" -pid "$reverse_proxy_PID") ;;
	reverse_proxy_warm) args+=(-url "http://127.0.0.1:$WARM_PORT$path" -pid "$reverse_proxy_warm_PID") ;;
	llm_gateway) args+=(-url "http://127.0.0.1:$GW_PORT$path" -pid "$llm_gateway_PID" -model "$GW_MODEL") ;;
	llm_gateway_auth_limit) args+=(-url "http://127.0.0.1:$LIM_PORT$path" -pid "$llm_gateway_auth_limit_PID" -model "$GW_MODEL"
		-header "Authorization: Bearer bench-client-key") ;;
	llm_gateway_translate) args+=(-url "http://127.0.0.1:$TR_PORT$path" -pid "$llm_gateway_translate_PID" -model "$GW_MODEL") ;;
	esac
	"$BIN/load" "${args[@]}" | tee -a "$RESULTS/latest.jsonl" >&2
}

run_all() {
	local round spec scenario conc stream count warmup chunks api target
	: >"$RESULTS/latest.jsonl"
	for round in $(seq 1 "$ROUNDS"); do
		for spec in "${SCENARIOS[@]}"; do
			read -r scenario conc stream count warmup chunks api <<<"$spec"
			[[ -n $ONLY && ! $scenario =~ $ONLY ]] && continue
			count=${N:-$count}
			api=${api:-chat}
			log "round $round/$ROUNDS: $scenario"
			for target in $(api_targets "$api"); do
				run_load "$round" "$scenario" "$conc" "$stream" "$count" "$warmup" "$chunks" "$api" "$target"
			done
		done
	done
}

# run_go_benchmarks writes the allocations of the handler path, measured
# with `go test -benchmem`, to $RESULTS/gobench.txt: the whole request
# through an in-process Caddy (reverse_proxy next to llm_gateway), the
# gateway handler alone, and each stream translator.
run_go_benchmarks() {
	log "go test -bench (allocations per request)"
	cd "$ROOT"
	{
		go test ./integration -run '^$' -bench ProxyPath -benchmem -benchtime 3000x 2>/dev/null
		go test ./internal/handler -run '^$' -bench 'AuthAndLimits|Stream' -benchmem 2>/dev/null
		go test ./providers/... -run '^$' -bench Stream -benchmem 2>/dev/null
		go test ./inbound/responses ./inbound/messages -run '^$' -bench . -benchmem 2>/dev/null
	} | grep -E '^(Benchmark|pkg:)' >"$RESULTS/gobench.txt"
}

main() {
	build
	start_servers
	run_all
	run_go_benchmarks
	local status=0
	"$BIN/report" -in "$RESULTS/latest.jsonl" -gobench "$RESULTS/gobench.txt" >"$RESULTS/latest.md" || status=$?
	cat "$RESULTS/latest.md"
	return "$status"
}

main "$@"
