package handler

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The collectors live for the whole process and are registered with each
// config's registry, so counters survive config reloads.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_requests_total",
		Help: "Requests served by llm_gateway, by public model, provider and HTTP status.",
	}, []string{"model", "provider", "status"})

	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "llm_gateway_request_duration_seconds",
		Help: "Time from request to the end of the answer.",
		// LLM answers take from tens of milliseconds (a cached short
		// answer) to minutes (a long generation on a local model).
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"model", "provider"})

	timeToFirstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "llm_gateway_time_to_first_token_seconds",
		Help: "Time from request to the first byte of the answer sent to the client.",
		// A local model that must be loaded first can take minutes
		// before its first token.
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"model", "provider"})

	tokensTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_tokens_total",
		Help: "Tokens reported by upstreams, by public model, provider and kind (prompt or completion).",
	}, []string{"model", "provider", "kind"})

	activeRequests = &readableGauge{Gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "llm_gateway_active_requests",
		Help: "Requests being served right now.",
	})}

	rateLimitedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_rate_limited_total",
		Help: "Requests refused by a limit, by limit kind (requests or tokens).",
	}, []string{"limit"})

	storeErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llm_gateway_rate_limit_store_errors_total",
		Help: "Failed calls to the rate limit store (Redis unreachable, timeouts).",
	})

	upstreamAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_upstream_attempts_total",
		Help: "Calls to upstream providers, by provider and outcome (success, timeout, error, client_closed or the HTTP status).",
	}, []string{"provider", "outcome"})

	upstreamSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_upstream_skipped_total",
		Help: "Upstream calls not made because the provider's circuit was open (or its half-open trial was under way), by provider.",
	}, []string{"provider"})

	providerUp = newCircuitCollector()

	budgetExceededTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llm_gateway_budget_exceeded_total",
		Help: "Requests refused because a caller's or group's budget could not hold what they could cost.",
	})

	cacheRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_cache_requests_total",
		Help: "Requests that could be answered from the answer cache, by result (hit, miss or bypass).",
	}, []string{"result"})

	costTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llm_gateway_cost_usd_total",
		Help: "What upstream calls cost in USD at the configured prices, by public model and provider; calls without a price are not counted.",
	}, []string{"model", "provider"})

	overheadSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "llm_gateway_overhead_seconds",
		Help:    "Time spent in the gateway itself (total minus upstream wait), as in the X-LLM-Gateway-Overhead-Ms header.",
		Buckets: []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1},
	})
)

// observe records a finished exchange in the collectors.
func (x *exchange) observe(duration time.Duration) {
	model, provider := x.metricLabels()
	requestsTotal.WithLabelValues(model, provider, strconv.Itoa(x.status)).Inc()
	requestDuration.WithLabelValues(model, provider).Observe(duration.Seconds())
	overheadSeconds.Observe(x.overhead.Seconds())
	if x.firstByte > 0 && x.status == http.StatusOK {
		timeToFirstToken.WithLabelValues(model, provider).Observe(x.firstByte.Seconds())
	}
	if x.usage.known {
		tokensTotal.WithLabelValues(model, provider, "prompt").Add(float64(x.usage.PromptTokens))
		tokensTotal.WithLabelValues(model, provider, "completion").Add(float64(x.usage.CompletionTokens))
	}
	if x.priced {
		costTotal.WithLabelValues(model, provider).Add(x.cost.USD())
	}
	if x.cache.result != "" {
		cacheRequests.WithLabelValues(x.cache.result).Inc()
	}
}

// metricLabels are the bounded label values for this exchange: the route's
// configured name rather than the free-form requested model.
func (x *exchange) metricLabels() (model, provider string) {
	model, provider = x.route, x.provider
	if model == "" {
		model = "none"
	}
	if provider == "" {
		provider = "none"
	}
	if x.cache.result == cacheHit {
		provider = "cache"
	}
	return model, provider
}

// RegisterMetrics adds the gateway's collectors to reg. Registering twice
// (two llm_gateway handlers in one config) is fine.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{requestsTotal, requestDuration, timeToFirstToken,
		tokensTotal, activeRequests, rateLimitedTotal, storeErrors, upstreamAttempts, upstreamSkipped, providerUp, overheadSeconds, costTotal, budgetExceededTotal, cacheRequests} {
		if err := reg.Register(c); err != nil {
			if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
				return err
			}
		}
	}
	return nil
}

// readableGauge is a gauge whose value the gateway can read back cheaply,
// for /health; a prometheus.Gauge can only be read by collecting it.
type readableGauge struct {
	prometheus.Gauge
	n atomic.Int64
}

// Inc adds one.
func (g *readableGauge) Inc() { g.n.Add(1); g.Gauge.Inc() }

// Dec subtracts one.
func (g *readableGauge) Dec() { g.n.Add(-1); g.Gauge.Dec() }

// Value is the current count.
func (g *readableGauge) Value() int64 { return g.n.Load() }

// circuitCollector reports llm_gateway_provider_up for the providers of
// every live handler, and llm_gateway_target_up for their configured
// targets, computed at scrape time: a cooldown ends by the clock, not by
// an event that could update a gauge.
type circuitCollector struct {
	providerDesc, targetDesc *prometheus.Desc
	mu                       sync.Mutex
	books                    map[*healthBook]struct{}
}

func newCircuitCollector() *circuitCollector {
	return &circuitCollector{
		providerDesc: prometheus.NewDesc("llm_gateway_provider_up",
			"1 while a provider may be called (up or half-open, as in /health), 0 while it is down.",
			[]string{"provider"}, nil),
		targetDesc: prometheus.NewDesc("llm_gateway_target_up",
			"1 while a configured target (provider and upstream model) may be called, 0 while it is down or paused by its upstream's rate limit.",
			[]string{"provider", "model"}, nil),
		books: make(map[*healthBook]struct{}),
	}
}

func (c *circuitCollector) add(b *healthBook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.books[b] = struct{}{}
}

func (c *circuitCollector) remove(b *healthBook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.books, b)
}

// Describe sends the metrics' descriptions.
func (c *circuitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.providerDesc
	ch <- c.targetDesc
}

// Collect sends each provider's and configured target's value. A name
// several handlers share (two sites, or the old and new config during a
// reload) is up when it is up in any of them.
func (c *circuitCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	providerUp := make(map[[2]string]float64)
	targetUp := make(map[[2]string]float64)
	merge := func(m map[[2]string]float64, key [2]string, up bool) {
		if up {
			m[key] = 1
		} else if _, seen := m[key]; !seen {
			m[key] = 0
		}
	}
	c.mu.Lock()
	for b := range c.books {
		for _, s := range b.order {
			merge(providerUp, [2]string{s.name}, s.status(now).Status != statusDown)
			for _, t := range s.snapshotTargets() {
				if t.configured {
					merge(targetUp, [2]string{s.name, t.model}, !t.isOpen(now))
				}
			}
		}
	}
	c.mu.Unlock()
	for key, v := range providerUp {
		ch <- prometheus.MustNewConstMetric(c.providerDesc, prometheus.GaugeValue, v, key[0])
	}
	for key, v := range targetUp {
		ch <- prometheus.MustNewConstMetric(c.targetDesc, prometheus.GaugeValue, v, key[0], key[1])
	}
}
