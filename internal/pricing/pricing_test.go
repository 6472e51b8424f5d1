package pricing

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRates(t *testing.T) {
	for _, c := range []struct {
		in      string
		perTok  bool
		want    Rate
		wantStr string
	}{
		{"2.5e-06", true, 2_500_000_000, "2.5"},
		{"0.0000025", true, 2_500_000_000, "2.5"},
		{"3.75e-06", true, 3_750_000_000, "3.75"},
		{"1.25e-07", true, 125_000_000, "0.125"},
		{"2e-08", true, 20_000_000, "0.02"},
		{"0", true, 0, "0"},
		{"2.50", false, 2_500_000_000, "2.5"},
		{"0.0075", false, 7_500_000, "0.0075"},
		{"15", false, 15_000_000_000, "15"},
		// Finer than a femtodollar a token: rounded half up.
		{"0.0000000000000005", true, 1, "0.000000001"},
	} {
		parse := ParseUSDPerMillion
		if c.perTok {
			parse = ParseUSDPerToken
		}
		got, err := parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
			continue
		}
		if s := got.String(); s != c.wantStr {
			t.Errorf("Rate(%d).String() = %q, want %q", got, s, c.wantStr)
		}
	}
	for _, bad := range []string{"", "abc", "-1", "1/3", "1e30", "0x10", "1_000"} {
		if r, err := ParseUSDPerMillion(bad); err == nil {
			t.Errorf("ParseUSDPerMillion(%q) = %d, want an error", bad, r)
		}
	}
}

func TestCostIsExact(t *testing.T) {
	// claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per 1M.
	p := Price{Input: 3_000_000_000, Output: 15_000_000_000, CachedInput: 300_000_000, CacheWrite: 3_750_000_000}
	u := Usage{Prompt: 1000, Cached: 300, CacheWrite: 200, Completion: 500}
	// 500×3 + 300×0.30 + 200×3.75 + 500×15 = 1500 + 90 + 750 + 7500 = 9840 µ$ = 0.00984 $.
	if got := p.Cost(u); got != 9_840_000 || got.String() != "0.00984" {
		t.Errorf("Cost = %d (%s), want 9840000 (0.00984)", got, got)
	}
	// A float sum of the same terms is off; the integer one is not, however often it is added.
	var total Nanodollars
	for range 1000 {
		total += p.Cost(Usage{Prompt: 1, Completion: 1}) // 18 µ$ = 18000 n$
	}
	if total != 18_000_000 || total.String() != "0.018" {
		t.Errorf("1000 × (1 in + 1 out) = %s, want 0.018", total)
	}
	// Fractions of a nanodollar are rounded up: a call is never free by rounding.
	cheap := Price{Input: 20_000} // $0.00002 per 1M: 0.02 n$ a token
	if got := cheap.Cost(Usage{Prompt: 1}); got != 1 {
		t.Errorf("one token at $0.00002/1M = %d n$, want 1 (0.02 rounded up)", got)
	}
	if got := cheap.Cost(Usage{}); got != 0 {
		t.Errorf("no tokens cost %d", got)
	}
	// More cached than prompt tokens: each named part is charged, nothing negative.
	if got := p.Cost(Usage{Prompt: 10, Cached: 20}); got != 6_000 {
		t.Errorf("Cost with cached > prompt = %d, want 20 × 0.30 µ$ = 6000 n$", got)
	}
	// Beyond the range: saturates instead of wrapping around.
	huge := Price{Output: math.MaxInt64}
	if got := huge.Cost(Usage{Completion: math.MaxInt64}); got != math.MaxInt64 {
		t.Errorf("overflowing cost = %d, want saturation", got)
	}
}

func TestParseUSD(t *testing.T) {
	for in, want := range map[string]Nanodollars{"25": 25_000_000_000, "0.50": 500_000_000, "0.000000001": 1} {
		if got, err := ParseUSD(in); err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseUSD("-3"); err == nil || !strings.Contains(err.Error(), `"-3"`) {
		t.Errorf("ParseUSD(-3) error = %v", err)
	}
}

const litellmSample = `{
  "sample_spec": {"max_tokens": "LEGACY parameter", "input_cost_per_token": 0.0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers", "mode": "one of chat"},
  "gpt-4o": {"max_output_tokens": 16384, "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
  "azure/gpt-4o": {"max_output_tokens": 16384.0, "input_cost_per_token": 2.75e-06, "output_cost_per_token": 1.1e-05, "litellm_provider": "azure", "mode": "chat"},
  "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "input_cost_per_token_above_200k_tokens": 6e-06, "search_context_cost_per_query": {"search_context_size_medium": 0.01}},
  "dall-e-3": {"mode": "image_generation", "input_cost_per_pixel": 1e-08},
  "llama3": {"input_cost_per_token": 0, "output_cost_per_token": 0, "litellm_provider": "ollama"}
}`

func TestParseTable(t *testing.T) {
	table, err := ParseTable([]byte(litellmSample))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := table["dall-e-3"]; ok {
		t.Error("an entry priced per pixel was read as a token price")
	}
	gpt, ok := table.Lookup("openai", "gpt-4o")
	if !ok || gpt.Input != 2_500_000_000 || gpt.Output != 10_000_000_000 || gpt.CachedInput != 1_250_000_000 ||
		gpt.CacheWrite != gpt.Input || gpt.MaxOutputTokens != 16384 {
		t.Errorf("openai gpt-4o = %+v, %v", gpt, ok)
	}
	// The provider's own entry wins over the bare name.
	azure, ok := table.Lookup("azure", "gpt-4o")
	if !ok || azure.Input != 2_750_000_000 || azure.CachedInput != azure.Input || azure.MaxOutputTokens != 16384 {
		t.Errorf("azure gpt-4o = %+v, %v", azure, ok)
	}
	claude, ok := table.Lookup("anthropic", "claude-sonnet-4-5")
	if !ok || claude.CachedInput != 300_000_000 || claude.CacheWrite != 3_750_000_000 {
		t.Errorf("anthropic claude-sonnet-4-5 = %+v, %v", claude, ok)
	}
	// A model named with a prefix of its own finds the bare entry.
	if _, ok := table.Lookup("openai", "openai/gpt-4o"); !ok {
		t.Error("openai/gpt-4o not found under gpt-4o")
	}
	if free, ok := table.Lookup("ollama", "llama3"); !ok || free.Input != 0 {
		t.Errorf("a free model = %+v, %v; want found at 0", free, ok)
	}
	if _, ok := table.Lookup("openai", "no-such-model"); ok {
		t.Error("an unknown model was found")
	}
}

func TestLoadTableErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct{ name, text, want string }{
		{"list.json", `[1,2]`, "list.json: not a JSON object of models"},
		{"bad-price.json", `{"gpt-x": {"input_cost_per_token": "cheap"}}`, `entry "gpt-x"`},
		{"negative.json", `{"gpt-y": {"input_cost_per_token": -1e-06}}`, `entry "gpt-y": input_cost_per_token: invalid price "-1e-06"`},
		{"max.json", `{"gpt-z": {"input_cost_per_token": 1e-06, "max_output_tokens": 1.5}}`, `entry "gpt-z": max_output_tokens`},
	} {
		_, err := LoadTable(write(c.name, c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	if _, err := LoadTable(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: error = %v", err)
	}
}

// TestLongContextTiers: a prompt above a tier's threshold prices all of a
// call's tokens at the tier's rates; a rate the tier does not give is the
// base one; the dearest rates cover every tier.
func TestLongContextTiers(t *testing.T) {
	table, err := ParseTable([]byte(`{"claude-sonnet-4-5": {
		"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
		"cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
		"cache_creation_input_token_cost_above_1hr": 6e-06,
		"input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
		"cache_read_input_token_cost_above_200k_tokens": 6e-07,
		"cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05}}`))
	if err != nil {
		t.Fatal(err)
	}
	p := table["claude-sonnet-4-5"]
	if len(p.Tiers) != 1 || p.Tiers[0].AbovePrompt != 200_000 || p.Tiers[0].CacheWrite != p.CacheWrite {
		t.Fatalf("tiers = %+v, want one above 200k keeping the base cache-write rate", p.Tiers)
	}
	// At the threshold: base rates. 200,000 × $3 + 1,000 × $15 per 1M.
	if got := p.Cost(Usage{Prompt: 200_000, Completion: 1000}); got.String() != "0.615" {
		t.Errorf("a prompt of 200k tokens costs %s, want 0.615", got)
	}
	// Above it: every token at the tier's rates. 200,001 - 100,000 cached at $6, 100,000 at $0.60, 1,000 at $22.50.
	if got := p.Cost(Usage{Prompt: 200_001, Cached: 100_000, Completion: 1000}); got.String() != "0.682506" {
		t.Errorf("a prompt of 200,001 tokens costs %s, want 0.682506", got)
	}
	if prompt, completion := p.Dearest(); prompt != 6_000_000_000 || completion != 22_500_000_000 {
		t.Errorf("dearest rates %s and %s, want 6 and 22.5", prompt, completion)
	}
	if _, err := ParseTable([]byte(`{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token_above_128k_tokens": "x"}}`)); err == nil ||
		!strings.Contains(err.Error(), `entry "m": output_cost_per_token_above_128k_tokens`) {
		t.Errorf("a malformed tier rate: %v", err)
	}
}
