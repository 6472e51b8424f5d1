package pricing

import (
	"math"
	"math/bits"
)

// Price is what one model's tokens cost.
type Price struct {
	// Input is the price of a prompt token that no cache served.
	Input Rate
	// Output is the price of a completion token, reasoning included.
	Output Rate
	// CachedInput is the price of a prompt token read from the
	// provider's prompt cache; Input when the list gives none.
	CachedInput Rate
	// CacheWrite is the price of a prompt token written to the
	// provider's prompt cache; Input when the list gives none.
	CacheWrite Rate
	// MaxOutputTokens is the most the model answers, 0 when unknown.
	MaxOutputTokens int64
	// Tiers are dearer rates for long prompts, by ascending threshold.
	Tiers []Tier
}

// Tier is the rates of a call whose prompt has more than AbovePrompt
// tokens: all of its tokens are priced at them (Anthropic's and Google's
// long-context prices, LiteLLM's `…_above_200k_tokens`). A rate the list
// does not give is the base rate of its kind.
type Tier struct {
	AbovePrompt                            int64
	Input, Output, CachedInput, CacheWrite Rate
}

// at is the price of a call with prompt tokens: the base rates, or those
// of the highest tier the prompt is above.
func (p Price) at(prompt int64) Price {
	for i := len(p.Tiers) - 1; i >= 0; i-- {
		if t := p.Tiers[i]; prompt > t.AbovePrompt {
			return Price{Input: t.Input, Output: t.Output, CachedInput: t.CachedInput, CacheWrite: t.CacheWrite}
		}
	}
	return p
}

// Dearest is the highest rate a prompt token and a completion token can
// cost, over every tier: what the worst case of a call is priced at.
func (p Price) Dearest() (prompt, completion Rate) {
	prompt, completion = max(p.Input, p.CachedInput, p.CacheWrite), p.Output
	for _, t := range p.Tiers {
		prompt, completion = max(prompt, t.Input, t.CachedInput, t.CacheWrite), max(completion, t.Output)
	}
	return prompt, completion
}

// Usage is what one call used, as the upstream reported it.
type Usage struct {
	// Prompt counts every prompt token, those read from or written to a
	// cache included, as OpenAI's prompt_tokens does.
	Prompt int64
	// Cached is the part of Prompt read from the prompt cache.
	Cached int64
	// CacheWrite is the part of Prompt written to the prompt cache.
	CacheWrite int64
	// Completion counts the answer's tokens.
	Completion int64
}

// Cost is what u costs at p, rounded up to the nanodollar: every token
// at its own price, at the rates of the tier the prompt falls in. Counts that do not add up (more cached than prompt
// tokens) are charged for each part they name. The sum is taken in 128
// bits, so no price and count can overflow it short of a cost beyond
// Nanodollars' range, which saturates.
func (p Price) Cost(u Usage) Nanodollars {
	p = p.at(u.Prompt)
	plain := max(u.Prompt-u.Cached-u.CacheWrite, 0)
	var hi, lo uint64
	for _, term := range [...]struct {
		tokens int64
		rate   Rate
	}{{plain, p.Input}, {u.Cached, p.CachedInput}, {u.CacheWrite, p.CacheWrite}, {u.Completion, p.Output}} {
		if term.tokens <= 0 || term.rate <= 0 {
			continue
		}
		h, l := bits.Mul64(uint64(term.tokens), uint64(term.rate))
		var carry uint64
		lo, carry = bits.Add64(lo, l, 0)
		hi += h + carry
	}
	// Round up: add divisor-1 before dividing.
	var carry uint64
	lo, carry = bits.Add64(lo, femtoPerNano-1, 0)
	hi += carry
	if hi >= femtoPerNano {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, femtoPerNano)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return Nanodollars(q)
}
