package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// maxModelPages bounds how many pages of the model list are read.
const maxModelPages = 20

type modelList struct {
	Models []struct {
		Name                       string   `json:"name"`
		SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	} `json:"models"`
	NextPageToken string `json:"nextPageToken"`
}

// ListModels lists the upstream's models that can chat or embed, by id
// without the `models/` prefix.
func (g *Gemini) ListModels(ctx context.Context, callerKey string) ([]providers.Model, error) {
	var out []providers.Model
	token := ""
	for range maxModelPages {
		target := g.URL().String() + "/" + g.APIVersion + "/models?pageSize=1000"
		if token != "" {
			target += "&pageToken=" + url.QueryEscape(token)
		}
		resp, err := g.Get(ctx, target, callerKey, setKey)
		if err != nil {
			return nil, err
		}
		raw, err := g.ReadBody(resp)
		if err != nil {
			return nil, err
		}
		var page modelList
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("decoding the gemini model list: %w", err)
		}
		for _, m := range page.Models {
			if slices.Contains(m.SupportedGenerationMethods, "generateContent") ||
				slices.Contains(m.SupportedGenerationMethods, "embedContent") {
				out = append(out, providers.Model{ID: strings.TrimPrefix(m.Name, "models/"), Object: "model", OwnedBy: g.Name})
			}
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	return out, nil
}
