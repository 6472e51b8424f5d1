package pricing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Table is a price list read from a file in LiteLLM's
// model_prices_and_context_window.json format: an object of model names,
// some with a provider prefix (azure/gpt-4o), each with its prices per
// token in USD.
type Table map[string]Price

// litellmEntry holds the members of an entry the gateway reads. Numbers
// stay text, to be read exactly.
type litellmEntry struct {
	InputCostPerToken           json.Number `json:"input_cost_per_token"`
	OutputCostPerToken          json.Number `json:"output_cost_per_token"`
	CacheReadInputTokenCost     json.Number `json:"cache_read_input_token_cost"`
	CacheCreationInputTokenCost json.Number `json:"cache_creation_input_token_cost"`
	MaxOutputTokens             json.Number `json:"max_output_tokens"`
}

// LoadTable reads a price list file. Entries with neither an input nor an
// output price (LiteLLM's sample_spec, image and audio models priced per
// image or second) are left out; a malformed price is an error naming its
// entry.
func LoadTable(path string) (Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the price list: %w", err)
	}
	t, err := ParseTable(data)
	if err != nil {
		return nil, fmt.Errorf("price list %s: %w", path, err)
	}
	return t, nil
}

// ParseTable reads a price list in LiteLLM's format.
func ParseTable(data []byte) (Table, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of models: %w", err)
	}
	t := make(Table, len(raw))
	for name, v := range raw {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			continue
		}
		var e litellmEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("entry %q: %w", name, err)
		}
		if e.InputCostPerToken == "" && e.OutputCostPerToken == "" {
			continue
		}
		p, err := e.price()
		if err == nil {
			p.Tiers, err = tiers(v, p)
		}
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", name, err)
		}
		t[name] = p
	}
	return t, nil
}

func (e *litellmEntry) price() (Price, error) {
	var p Price
	for _, f := range [...]struct {
		member string
		text   json.Number
		dst    *Rate
	}{
		{"input_cost_per_token", e.InputCostPerToken, &p.Input},
		{"output_cost_per_token", e.OutputCostPerToken, &p.Output},
		{"cache_read_input_token_cost", e.CacheReadInputTokenCost, &p.CachedInput},
		{"cache_creation_input_token_cost", e.CacheCreationInputTokenCost, &p.CacheWrite},
	} {
		if f.text == "" {
			continue
		}
		r, err := ParseUSDPerToken(string(f.text))
		if err != nil {
			return Price{}, fmt.Errorf("%s: %w", f.member, err)
		}
		*f.dst = r
	}
	if e.CacheReadInputTokenCost == "" {
		p.CachedInput = p.Input
	}
	if e.CacheCreationInputTokenCost == "" {
		p.CacheWrite = p.Input
	}
	if e.MaxOutputTokens != "" {
		// Some entries write counts as 8192.0.
		n, ok := new(big.Rat).SetString(string(e.MaxOutputTokens))
		if !ok || !n.IsInt() || n.Sign() < 0 || !n.Num().IsInt64() {
			return Price{}, fmt.Errorf("max_output_tokens: want a whole number, got %s", e.MaxOutputTokens)
		}
		p.MaxOutputTokens = n.Num().Int64()
	}
	return p, nil
}

// tierMember is a member of a long-context tier's rate:
// `<kind>_above_<n>k_tokens`.
var tierMember = regexp.MustCompile(`^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)_above_([0-9]+)k_tokens$`)

// tiers reads an entry's long-context tiers; base fills the rates a tier
// does not give.
func tiers(entry []byte, base Price) ([]Tier, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(entry, &members); err != nil {
		return nil, err
	}
	byThreshold := make(map[int64]*Tier)
	for member, raw := range members {
		m := tierMember.FindStringSubmatch(member)
		if m == nil {
			continue
		}
		thousands, err := strconv.ParseInt(m[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", member, err)
		}
		r, err := ParseUSDPerToken(string(bytes.TrimSpace(raw)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", member, err)
		}
		threshold := thousands * 1000
		t, ok := byThreshold[threshold]
		if !ok {
			t = &Tier{AbovePrompt: threshold, Input: base.Input, Output: base.Output, CachedInput: base.CachedInput, CacheWrite: base.CacheWrite}
			byThreshold[threshold] = t
		}
		switch m[1] {
		case "input_cost_per_token":
			t.Input = r
		case "output_cost_per_token":
			t.Output = r
		case "cache_read_input_token_cost":
			t.CachedInput = r
		case "cache_creation_input_token_cost":
			t.CacheWrite = r
		}
	}
	var out []Tier
	for _, threshold := range slices.Sorted(maps.Keys(byThreshold)) {
		out = append(out, *byThreshold[threshold])
	}
	return out, nil
}

// Lookup finds the price of an upstream model of a provider type:
// `<type>/<model>` first (LiteLLM prefixes the entries that differ by
// provider, azure/gpt-4o), then the model alone, then, for a model named
// with a prefix of its own (meta-llama/Llama-3-8B, openai/gpt-4o), the
// name after its first slash.
func (t Table) Lookup(providerType, model string) (Price, bool) {
	if p, ok := t[providerType+"/"+model]; ok {
		return p, true
	}
	if p, ok := t[model]; ok {
		return p, true
	}
	if _, rest, ok := strings.Cut(model, "/"); ok {
		if p, ok := t[rest]; ok {
			return p, true
		}
	}
	return Price{}, false
}
