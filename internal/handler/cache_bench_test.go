//go:build unix

package handler

import (
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/internal/answercache/rediscache"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/mock"
)

// BenchmarkCache compares requests answered from the cache (from memory,
// and from a Redis on loopback: one GET per hit), non-streamed and
// streamed, with the same requests passed through to the canned provider
// and to the mock provider. Besides the time per request it reports
// cpu-ns/op: the process's CPU time per request, on every core (the
// garbage collector's and Redis client's work included).
func BenchmarkCache(b *testing.B) {
	streamBody := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`
	memory := func() answercache.Store { return &answercache.Memory{TTL: time.Hour, MaxBytes: 1 << 20} }
	b.Run("passthrough", func(b *testing.B) { withCPU(b, func() { benchmarkServe(b, Config{}) }) })
	b.Run("passthrough_stream", func(b *testing.B) { withCPU(b, func() { benchmarkServeBody(b, Config{}, streamBody) }) })
	b.Run("mock", func(b *testing.B) {
		p := &mock.Mock{Base: providers.Base{Name: "mock"}}
		if err := p.Provision(caddy.Context{}); err != nil {
			b.Fatal(err)
		}
		withCPU(b, func() { benchmarkServe(b, Config{Routes: []Route{route(Wildcard, Target{Provider: p})}}) })
	})
	b.Run("memory_hit", func(b *testing.B) { benchmarkHits(b, memory(), benchBody) })
	b.Run("memory_hit_stream", func(b *testing.B) { benchmarkHits(b, memory(), streamBody) })
	b.Run("redis_hit", func(b *testing.B) {
		srv := redistest.Start(b)
		client, err := limitstore.RedisClient(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = client.Close() })
		benchmarkHits(b, &rediscache.Store{Client: client, TTL: time.Hour, MaxBytes: 1 << 20}, benchBody)
	})
}

// benchmarkHits serves body from a cache in store, filled by the
// request made before the clock starts, and checks every one was a hit.
func benchmarkHits(b *testing.B, store answercache.Store, body string) {
	hits := cacheRequests.WithLabelValues(cacheHit)
	before := testutil.ToFloat64(hits)
	withCPU(b, func() { benchmarkServeBody(b, Config{Cache: &Cache{Store: store, Scope: CacheCaller}}, body) })
	if got := testutil.ToFloat64(hits) - before; got < float64(b.N) {
		b.Fatalf("%v hits in %d requests", got, b.N)
	}
}

// withCPU runs a benchmark and reports the process's CPU time per
// operation.
func withCPU(b *testing.B, run func()) {
	before := cpuTime(b)
	run()
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
