package native

import (
	"go.uber.org/zap"

	"context"
	"net/http"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// listTimeout bounds asking the providers for their models, as for
// GET /v1/models.
const listTimeout = 10 * time.Second

// nativeModel is one entry of GET /api/v1/models. The native API's fields
// come first; the sizes are also given in bytes, for programs.
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

// serveModels answers GET /api/v1/models: every public model the caller
// may use, filled from the provider's inventory where it has one, then
// every model installed on a provider behind a `model *` route.
func serveModels(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	c, perr := hub.Catalog(r)
	if perr != nil {
		c.WriteHeaders(w.Header())
		writeError(w, perr, false)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), listTimeout)
	defer cancel()
	l := lister{hub: hub, catalog: c, fetched: make(map[string]*inventory)}
	out := []nativeModel{}
	seen := make(map[string]bool)
	for _, rt := range c.Routes() {
		seen[rt.Name] = true
		t := rt.Targets[0]
		m := nativeModel{Name: rt.Name, Provider: t.Provider.Config().Name, UpstreamModel: t.Model}
		if inv := l.inventory(ctx, t); inv != nil {
			m.Local = true
			if inv.err == nil {
				fill(&m, inv, t.UpstreamModel(rt.Name))
			}
		} else {
			m.Loaded = true
		}
		out = append(out, m)
	}
	for _, t := range c.Wildcard().Targets {
		inv := l.inventory(ctx, t)
		if inv == nil {
			out = l.remoteModels(ctx, t, seen, out)
			continue
		}
		if inv.err != nil {
			continue
		}
		for _, lm := range inv.tags {
			if seen[lm.Name] || !c.Allows(lm.Name) {
				continue
			}
			seen[lm.Name] = true
			m := nativeModel{Name: lm.Name, Provider: t.Provider.Config().Name, Local: true}
			fill(&m, inv, lm.Name)
			out = append(out, m)
		}
	}
	c.WriteHeaders(w.Header())
	writeJSON(w, http.StatusOK, struct {
		Models []nativeModel `json:"models"`
	}{out})
}

// lister asks the providers of one request for their models.
type lister struct {
	hub     inbound.Hub
	catalog inbound.Catalog
	fetched map[string]*inventory // by provider name; nil for none
}

// inventory is t's provider's lists, or nil when it keeps none.
func (l *lister) inventory(ctx context.Context, t inbound.Target) *inventory {
	name := t.Provider.Config().Name
	if inv, ok := l.fetched[name]; ok {
		return inv
	}
	src, ok := t.Provider.(providers.ModelInventory)
	if !ok {
		l.fetched[name] = nil
		return nil
	}
	inv := &inventory{}
	inv.err = l.catalog.Ask(ctx, t, func(ctx context.Context, callerKey string) error {
		var err error
		if inv.tags, err = src.Tags(ctx, callerKey); err != nil {
			return err
		}
		inv.running, err = src.Running(ctx, callerKey)
		return err
	})
	if inv.err != nil {
		l.hub.Logger().Warn("listing a provider's models", zap.String("provider", name), zap.Error(inv.err))
	}
	l.fetched[name] = inv
	return inv
}

// remoteModels adds the models a remote provider behind the wildcard route
// lists (as GET /v1/models does); they are always ready, so loaded.
func (l *lister) remoteModels(ctx context.Context, t inbound.Target, seen map[string]bool, out []nativeModel) []nativeModel {
	ml, ok := t.Provider.(providers.ModelLister)
	if !ok {
		return out
	}
	var list []providers.Model
	err := l.catalog.Ask(ctx, t, func(ctx context.Context, callerKey string) error {
		var err error
		list, err = ml.ListModels(ctx, callerKey)
		return err
	})
	if err != nil {
		l.hub.Logger().Warn("listing upstream models", zap.String("provider", t.Provider.Config().Name), zap.Error(err))
		return out
	}
	for _, m := range list {
		if seen[m.ID] || !l.catalog.Allows(m.ID) {
			continue
		}
		seen[m.ID] = true
		out = append(out, nativeModel{Name: m.ID, Provider: t.Provider.Config().Name, Loaded: true})
	}
	return out
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

// humanBytes writes sizes the native API's way: 4.2GB.
func humanBytes(n int64) string {
	if n < 0 {
		n = 0
	}
	return strings.ReplaceAll(humanize.Bytes(uint64(n)), " ", "")
}
