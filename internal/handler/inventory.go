package handler

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// inventoryOf returns p's model inventory, or nil.
func (h *Handler) inventoryOf(p providers.Provider) providers.ModelInventory {
	inv, _ := unwrap(p).(providers.ModelInventory)
	return inv
}

// nativeModel is one entry of GET /api/v1/models. The seed's fields come
// first; the sizes are also given in bytes, for programs.
type nativeModel struct {
	Name string `json:"name"`
	// Format, Size and MemoryUsage are null where the provider does not
	// say (remote providers).
	Format      *string `json:"format"`
	Size        *string `json:"size"`
	Loaded      bool    `json:"loaded"`
	MemoryUsage *string `json:"memory_usage"`

	SizeBytes     *int64     `json:"size_bytes"`
	MemoryBytes   *int64     `json:"memory_bytes"`
	VRAMBytes     *int64     `json:"vram_bytes,omitempty"`
	Quantization  string     `json:"quantization,omitempty"`
	ParameterSize string     `json:"parameter_size,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	// Provider is the configured provider that serves the model first.
	Provider string `json:"provider"`
	// UpstreamModel is the provider's name for it, when it differs.
	UpstreamModel string `json:"upstream_model,omitempty"`
	// Local is true when the provider runs the model itself and the other
	// fields come from it; remote models are always ready (loaded).
	Local bool `json:"local"`
}

// inventory is one provider's lists, fetched once per request.
type inventory struct {
	tags    []providers.LocalModel
	running []providers.RunningModel
	err     error
}

func (inv *inventory) find(name string) (*providers.LocalModel, *providers.RunningModel) {
	var l *providers.LocalModel
	var r *providers.RunningModel
	for i := range inv.tags {
		if sameModel(inv.tags[i].Name, name) {
			l = &inv.tags[i]
		}
	}
	for i := range inv.running {
		if sameModel(inv.running[i].Name, name) {
			r = &inv.running[i]
		}
	}
	return l, r
}

// sameModel compares model names the way Ollama resolves them: a name
// without a tag means `:latest`.
func sameModel(a, b string) bool {
	return withTag(a) == withTag(b)
}

func withTag(name string) string {
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		return name
	}
	return name + ":latest"
}

// serveNativeModels answers GET /api/v1/models: every public model the
// caller may use, filled from the provider's inventory where it has one,
// then every model installed on a provider behind a `model *` route.
func (h *Handler) serveNativeModels(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	caller, perr := h.authenticate(r)
	if perr != nil {
		x.writeOverhead(w.Header())
		writeNativeError(w, perr, false)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), modelListTimeout)
	defer cancel()
	fetched := make(map[string]*inventory)
	lists := func(t Target) *inventory {
		name := t.Provider.Config().Name
		if inv, ok := fetched[name]; ok {
			return inv
		}
		src := h.inventoryOf(t.Provider)
		if src == nil {
			fetched[name] = nil
			return nil
		}
		var key string
		if t.Provider.Config().UsesCallerKey(h.passthrough) {
			key = caller.upstreamKey
		}
		began := time.Now()
		inv := &inventory{}
		if inv.tags, inv.err = src.Tags(ctx, key); inv.err == nil {
			inv.running, inv.err = src.Running(ctx, key)
		}
		x.upstreamWait += time.Since(began)
		if inv.err != nil {
			h.cfg.Logger.Warn("listing a provider's models", zap.String("provider", name), zap.Error(inv.err))
		}
		fetched[name] = inv
		return inv
	}

	out := []nativeModel{}
	seen := make(map[string]bool)
	for _, rt := range h.routes.ordered {
		seen[rt.Name] = true
		if !caller.allows(rt.Name) {
			continue
		}
		t := rt.Targets[0]
		m := nativeModel{Name: rt.Name, Provider: t.Provider.Config().Name, UpstreamModel: t.Model}
		if inv := lists(t); inv != nil {
			m.Local = true
			if inv.err == nil {
				fill(&m, inv, t.upstreamModel(rt.Name))
			}
		} else {
			m.Loaded = true
		}
		out = append(out, m)
	}
	if h.routes.wildcard != nil {
		for _, t := range h.routes.wildcard.Targets {
			inv := lists(t)
			if inv == nil {
				out = h.remoteModels(ctx, x, caller, t, seen, out)
				continue
			}
			if inv.err != nil {
				continue
			}
			for _, l := range inv.tags {
				if seen[l.Name] || !caller.allows(l.Name) {
					continue
				}
				seen[l.Name] = true
				m := nativeModel{Name: l.Name, Provider: t.Provider.Config().Name, Local: true}
				fill(&m, inv, l.Name)
				out = append(out, m)
			}
		}
	}
	x.writeOverhead(w.Header())
	writeJSONStatus(w, http.StatusOK, struct {
		Models []nativeModel `json:"models"`
	}{out})
}

// fill copies what the provider knows of a model into its entry.
func fill(m *nativeModel, inv *inventory, name string) {
	l, r := inv.find(name)
	if l != nil {
		m.Format = nonEmpty(l.Format)
		size := humanBytes(l.Size)
		m.Size, m.SizeBytes = &size, &l.Size
		m.Quantization, m.ParameterSize = l.QuantizationLevel, l.ParameterSize
	}
	if r != nil {
		m.Loaded = true
		mem := humanBytes(r.Size)
		m.MemoryUsage, m.MemoryBytes = &mem, &r.Size
		m.VRAMBytes = &r.SizeVRAM
		if !r.ExpiresAt.IsZero() {
			t := r.ExpiresAt.UTC()
			m.ExpiresAt = &t
		}
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// humanBytes writes sizes the way seed 002 does: 4.2GB.
func humanBytes(n int64) string {
	if n < 0 {
		n = 0
	}
	return strings.ReplaceAll(humanize.Bytes(uint64(n)), " ", "")
}

// remoteModels adds the models a remote provider behind the wildcard route
// lists (as GET /v1/models does); they are always ready, so loaded.
func (h *Handler) remoteModels(ctx context.Context, x *exchange, caller *Caller, t Target, seen map[string]bool, out []nativeModel) []nativeModel {
	lister, ok := t.Provider.(providers.ModelLister)
	if !ok {
		return out
	}
	var key string
	if t.Provider.Config().UsesCallerKey(h.passthrough) {
		key = caller.upstreamKey
	}
	began := time.Now()
	list, err := lister.ListModels(ctx, key)
	x.upstreamWait += time.Since(began)
	if err != nil {
		h.cfg.Logger.Warn("listing upstream models", zap.String("provider", t.Provider.Config().Name), zap.Error(err))
		return out
	}
	for _, m := range list {
		if seen[m.ID] || !caller.allows(m.ID) {
			continue
		}
		seen[m.ID] = true
		out = append(out, nativeModel{Name: m.ID, Provider: t.Provider.Config().Name, Loaded: true})
	}
	return out
}
