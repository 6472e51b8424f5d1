package handler

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// modelListTimeout bounds asking wildcard providers for their models.
const modelListTimeout = 10 * time.Second

// listModels answers GET /v1/models: the configured public names, then
// whatever the providers behind a prefix pattern (`model claude-* …`) or
// the `model *` route report, each listed where the gateway routes it; in
// OpenAI's list shape, or Anthropic's for Anthropic's clients.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	caller, perr := h.authenticate(r)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	models := h.models(r.Context(), x, caller)
	x.writeOverhead(w.Header())
	if wantsAnthropic(r) {
		writeJSON(w, anthropicList(models))
		return
	}
	writeJSON(w, struct {
		Object string            `json:"object"`
		Data   []providers.Model `json:"data"`
	}{"list", models})
}

// wantsAnthropic reports whether r comes from one of Anthropic's clients,
// which send `anthropic-version` with every request and read the model
// list in Anthropic's shape; OpenAI's clients never send it.
func wantsAnthropic(r *http.Request) bool { return r.Header.Get("Anthropic-Version") != "" }

// anthropicModelInfo is a model in Anthropic's shape.
type anthropicModelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func anthropicModel(m providers.Model) anthropicModelInfo {
	return anthropicModelInfo{Type: "model", ID: m.ID, DisplayName: m.ID,
		CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)}
}

// anthropicModelList is Anthropic's model list: one page holding every
// model, with the ids of its first and last.
type anthropicModelList struct {
	Data    []anthropicModelInfo `json:"data"`
	HasMore bool                 `json:"has_more"`
	FirstID *string              `json:"first_id"`
	LastID  *string              `json:"last_id"`
}

func anthropicList(models []providers.Model) anthropicModelList {
	list := anthropicModelList{Data: make([]anthropicModelInfo, len(models))}
	for i, m := range models {
		list.Data[i] = anthropicModel(m)
	}
	if n := len(models); n > 0 {
		list.FirstID, list.LastID = &models[0].ID, &models[n-1].ID
	}
	return list
}

// getModel answers GET /v1/models/{id}.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	caller, perr := h.authenticate(r)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	for _, m := range h.models(r.Context(), x, caller) {
		if m.ID == id {
			x.writeOverhead(w.Header())
			if wantsAnthropic(r) {
				writeJSON(w, anthropicModel(m))
				return
			}
			writeJSON(w, m)
			return
		}
	}
	x.fail(w, modelNotFound(id))
}

// models lists the models caller may use; time spent asking upstreams is
// added to x's upstream wait.
func (h *Handler) models(ctx context.Context, x *exchange, caller *Caller) []providers.Model {
	seen := make(map[string]bool)
	out := []providers.Model{}
	for _, rt := range h.routes.ordered {
		seen[rt.Name] = true
		if !caller.allows(rt.Name) {
			continue
		}
		out = append(out, providers.Model{ID: rt.Name, Object: "model", Created: startTime, OwnedBy: rt.Targets[0].Provider.Config().Name})
	}
	listed := h.routes.listed()
	if len(listed) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, modelListTimeout)
	defer cancel()
	lists := make(map[string][]providers.Model) // by provider, asked once
	for _, rt := range listed {
		for _, t := range rt.Targets {
			name := t.Provider.Config().Name
			list, asked := lists[name]
			if !asked {
				list = h.upstreamModels(ctx, x, caller, t.Provider)
				lists[name] = list
			}
			for _, m := range list {
				// A name another route catches is that route's to list.
				if seen[m.ID] || !caller.allows(m.ID) {
					continue
				}
				if r, _ := h.routes.resolve(m.ID); r != rt {
					continue
				}
				seen[m.ID] = true
				m.Object = "model"
				if m.OwnedBy == "" {
					m.OwnedBy = name
				}
				if m.Created == 0 {
					m.Created = startTime
				}
				out = append(out, m)
			}
		}
	}
	return out
}

// upstreamModels asks p for its models, or returns none when it cannot
// list them or fails to.
func (h *Handler) upstreamModels(ctx context.Context, x *exchange, caller *Caller, p providers.Provider) []providers.Model {
	lister, ok := p.(providers.ModelLister)
	if !ok {
		return nil
	}
	var callerKey string
	if p.Config().UsesCallerKey(h.passthrough) {
		callerKey = caller.upstreamKey
	}
	began := time.Now()
	list, err := lister.ListModels(ctx, callerKey)
	x.upstreamWait += time.Since(began)
	if err != nil {
		h.cfg.Logger.Warn("listing upstream models", zap.String("provider", p.Config().Name), zap.Error(err))
		return nil
	}
	return list
}

// startTime stands in for the creation time of models the gateway defines.
var startTime = time.Now().Unix()

func writeJSON(w http.ResponseWriter, v any) {
	body, err := providers.MarshalJSON(v)
	if err != nil {
		writeError(w, providers.NewError(http.StatusInternalServerError, "", "encoding the response failed"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
