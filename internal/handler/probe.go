package handler

import (
	"context"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// probed is a provider the probes check, through its model list.
type probed struct {
	health *providerHealth
	lister providers.ModelLister
}

// probeTargets are the providers a probe can check: those that ask their
// upstream for their models with a key of their own. A provider that
// lists from its configuration proves nothing by answering, and one that
// sends each caller's key has no key to probe with.
func (h *Handler) probeTargets() []probed {
	var out []probed
	for _, s := range h.health.order {
		l, ok := s.provider.(providers.ModelLister)
		if !ok || s.provider.Config().UsesCallerKey(h.passthrough) {
			continue
		}
		if local, ok := s.provider.(providers.LocalLister); ok && local.ListsLocally() {
			continue
		}
		out = append(out, probed{health: s, lister: l})
	}
	return out
}

// startProbes runs a goroutine that probes every provider it can, once
// per ProbeInterval, until Close.
func (h *Handler) startProbes() {
	targets := h.probeTargets()
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(h.cfg.ProbeInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				h.probeAll(ctx, targets)
			}
		}
	}()
	h.stopProbes = func() {
		cancel()
		<-done
	}
}

// probeAll probes the targets at once and waits for every probe: none
// takes longer than an interval, so probes never pile up.
func (h *Handler) probeAll(ctx context.Context, targets []probed) {
	timeout := min(h.cfg.ProbeInterval, h.cfg.FirstTokenTimeout)
	var wg sync.WaitGroup
	for _, p := range targets {
		wg.Go(func() {
			// Each probe is a request of its own: its failure counts once.
			pctx, cancel := context.WithTimeout(withFailureScope(ctx), timeout)
			defer cancel()
			_, err := p.lister.ListModels(pctx, "")
			if err != nil && ctx.Err() == nil {
				err = upstreamError(ctx, p.health.name, err)
			}
			h.health.recordProvider(pctx, p.health, err)
		})
	}
	wg.Wait()
}
