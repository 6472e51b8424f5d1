package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// maxModelPages bounds how many pages of the model list are fetched.
const maxModelPages = 10

// modelPage is one page of GET /v1/models.
type modelPage struct {
	Data []struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	} `json:"data"`
	HasMore bool   `json:"has_more"`
	LastID  string `json:"last_id"`
}

// ListModels lists the models the key may use, from GET /v1/models,
// following its pages.
func (a *Anthropic) ListModels(ctx context.Context, callerKey string) ([]providers.Model, error) {
	var models []providers.Model
	after := ""
	for range maxModelPages {
		target := a.URL().String() + "/v1/models?limit=1000"
		if after != "" {
			target += "&after_id=" + url.QueryEscape(after)
		}
		page, err := a.modelPage(ctx, target, callerKey)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Data {
			var created int64
			if t, err := time.Parse(time.RFC3339, m.CreatedAt); err == nil {
				created = t.Unix()
			}
			models = append(models, providers.Model{ID: m.ID, Object: "model", Created: created, OwnedBy: a.Name})
		}
		if !page.HasMore || page.LastID == "" || page.LastID == after {
			break
		}
		after = page.LastID
	}
	return models, nil
}

func (a *Anthropic) modelPage(ctx context.Context, target, callerKey string) (*modelPage, error) {
	resp, err := a.Get(ctx, target, callerKey, apiKey)
	if err != nil {
		return nil, err
	}
	body, err := a.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var page modelPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream model list is not valid JSON")
	}
	return &page, nil
}
