package pricing

// Book says what a call costs: the price set for its public model, else
// the price list's entry for its upstream model.
type Book struct {
	// Models are prices set per public model; they override Table.
	Models map[string]Price
	// Table is the price list; nil for none.
	Table Table
	// ProviderTypes maps provider names to their types (openai, azure,
	// ...), which prefix some of the list's entries.
	ProviderTypes map[string]string
}

// Lookup finds the price of a call of publicModel served by provider as
// upstreamModel.
func (b *Book) Lookup(publicModel, provider, upstreamModel string) (Price, bool) {
	if b == nil {
		return Price{}, false
	}
	if p, ok := b.Models[publicModel]; ok {
		return p, true
	}
	return b.Table.Lookup(b.ProviderTypes[provider], upstreamModel)
}
