package messages

import (
	"bytes"
	"encoding/json"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
)

// anthropicUsage is the usage object of Anthropic's answers and events.
type anthropicUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

// usageMeter reads the usage of an answer Anthropic served natively: a
// Message's usage, or a stream's from message_start (input) and
// message_delta (output, cumulative; newer versions restate the input
// there). A later event without a count keeps the earlier one.
type usageMeter struct {
	streamed bool
	body     bytes.Buffer // a Message
	lines    inbound.Lines
	usage    anthropicUsage
	seen     bool
}

func newUsageMeter(streamed bool) inbound.UsageMeter {
	m := &usageMeter{streamed: streamed}
	m.lines = inbound.Lines{Max: maxUsageLine, Line: m.event}
	return m
}

// maxUsageLine bounds the stream lines kept: message_start and
// message_delta are small, the long lines are content.
const maxUsageLine = 64 << 10

func (m *usageMeter) Write(p []byte) (int, error) {
	if m.streamed {
		return m.lines.Write(p)
	}
	return m.body.Write(p)
}

// event reads one line of the stream: the data of message_start or
// message_delta.
func (m *usageMeter) event(line []byte) {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok || !bytes.Contains(data, []byte(`"usage"`)) {
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Message struct {
			Usage *anthropicUsage `json:"usage"`
		} `json:"message"`
		Usage *anthropicUsage `json:"usage"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "message_start":
		m.merge(ev.Message.Usage)
	case "message_delta":
		m.merge(ev.Usage)
	}
}

func (m *usageMeter) merge(u *anthropicUsage) {
	if u == nil {
		return
	}
	m.seen = true
	for _, f := range []struct{ to, from **int }{
		{&m.usage.InputTokens, &u.InputTokens},
		{&m.usage.OutputTokens, &u.OutputTokens},
		{&m.usage.CacheCreationInputTokens, &u.CacheCreationInputTokens},
		{&m.usage.CacheReadInputTokens, &u.CacheReadInputTokens},
	} {
		if *f.from != nil {
			*f.to = *f.from
		}
	}
}

// Usage counts every input token, cached or not, as prompt tokens, as
// the chat answers of the anthropic provider do.
func (m *usageMeter) Usage() (inbound.Usage, bool) {
	if !m.streamed {
		var msg struct {
			Usage *anthropicUsage `json:"usage"`
		}
		if json.Unmarshal(m.body.Bytes(), &msg) == nil {
			m.merge(msg.Usage)
		}
	}
	if !m.seen {
		return inbound.Usage{}, false
	}
	val := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	u := m.usage
	return inbound.Usage{
		PromptTokens:     val(u.InputTokens) + val(u.CacheCreationInputTokens) + val(u.CacheReadInputTokens),
		CompletionTokens: val(u.OutputTokens),
		CachedTokens:     val(u.CacheReadInputTokens),
		CacheWriteTokens: val(u.CacheCreationInputTokens),
	}, true
}

// Interface guards
var _ inbound.UsageMeter = (*usageMeter)(nil)
