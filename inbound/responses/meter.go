package responses

import (
	"bytes"
	"encoding/json"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// relayMeter reads what the gateway needs of a Response or Responses
// event stream relayed untouched: the response's id, to remember which
// provider keeps it, and its usage, for token limits and metrics. A
// stream's are in its lifecycle events (response.created,
// response.completed and the like), whose data carries the Response; the
// other events' lines are passed over after their first bytes.
type relayMeter struct {
	streamed  bool
	body      bytes.Buffer // a Response
	lines     inbound.Lines
	named     bool // the last line was an `event:` line
	lifecycle bool // and it named a lifecycle event
	id        string
	usage     *responseUsageCounts
}

// responseUsageCounts is what the meter reads of a Response's usage.
type responseUsageCounts struct {
	InputTokens        int                `json:"input_tokens"`
	InputTokensDetails inputTokensDetails `json:"input_tokens_details"`
	OutputTokens       int                `json:"output_tokens"`
}

func newRelayMeter(streamed bool) inbound.UsageMeter {
	m := &relayMeter{streamed: streamed}
	m.lines = inbound.Lines{Max: providers.MaxEvent, Sniff: sniffLen, Keep: m.wanted, Line: m.line}
	return m
}

// sniffLen is how much of a data line tells whether it is a lifecycle
// event's, when no `event:` line said so: `{"type":"response.completed"`
// comes first in every upstream's events.
const sniffLen = 64

// isLifecycle reports whether an event's type is one whose data is a
// whole Response.
func isLifecycle(typ []byte) bool {
	switch string(typ) {
	case "response.created", "response.in_progress", "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return false
}

var typeMember = []byte(`"type":"`)

// lifecycleData reports whether the beginning of an event's data may be a
// lifecycle event's: its `"type"` names one, or is cut off by the end of
// what was sniffed.
func lifecycleData(start []byte) bool {
	i := bytes.Index(start, typeMember)
	if i < 0 {
		return false
	}
	typ := start[i+len(typeMember):]
	end := bytes.IndexByte(typ, '"')
	return end < 0 || isLifecycle(typ[:end])
}

func (m *relayMeter) Write(p []byte) (int, error) {
	if m.streamed {
		return m.lines.Write(p)
	}
	return m.body.Write(p)
}

// wanted reports whether a stream line, of which start is the beginning,
// may be an `event:` line or a lifecycle event's data.
// An `event:` line before it settles that; without one, the data's
// beginning is sniffed. The blank line that ends an event ends its name.
func (m *relayMeter) wanted(start []byte) bool {
	if bytes.HasPrefix(start, []byte("event:")) {
		return true
	}
	if len(bytes.TrimSpace(start)) == 0 {
		m.named, m.lifecycle = false, false
		return false
	}
	data, ok := bytes.CutPrefix(start, []byte("data:"))
	if !ok {
		return false
	}
	if m.named {
		return m.lifecycle
	}
	return lifecycleData(data[:min(len(data), sniffLen)])
}

// line reads one whole stream line.
func (m *relayMeter) line(line []byte) {
	if name, ok := bytes.CutPrefix(line, []byte("event:")); ok {
		m.named, m.lifecycle = true, isLifecycle(bytes.TrimSpace(name))
		return
	}
	m.named, m.lifecycle = false, false
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	var ev struct {
		Response *responseIDUsage `json:"response"`
	}
	if json.Unmarshal(data, &ev) == nil && ev.Response != nil {
		m.take(ev.Response)
	}
}

// responseIDUsage is what the meter reads of a Response.
type responseIDUsage struct {
	ID    string               `json:"id"`
	Usage *responseUsageCounts `json:"usage"`
}

// read takes the id and usage of a whole Response.
func (m *relayMeter) read(response []byte) {
	var r responseIDUsage
	if json.Unmarshal(response, &r) == nil {
		m.take(&r)
	}
}

func (m *relayMeter) take(r *responseIDUsage) {
	if r.ID != "" {
		m.id = r.ID
	}
	if r.Usage != nil {
		m.usage = r.Usage
	}
}

// finish reads a whole Response once it has all gone through.
func (m *relayMeter) finish() {
	if !m.streamed && m.body.Len() > 0 {
		m.read(m.body.Bytes())
		m.body.Reset()
	}
}

// Usage is the Response's usage: its input tokens, cached ones included,
// as prompt tokens.
func (m *relayMeter) Usage() (inbound.Usage, bool) {
	m.finish()
	if m.usage == nil {
		return inbound.Usage{}, false
	}
	u := m.usage
	return inbound.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens,
		CachedTokens: u.InputTokensDetails.CachedTokens, CacheWriteTokens: u.InputTokensDetails.CacheWriteTokens}, true
}

// responseID is the relayed Response's id; empty when none went through.
func (m *relayMeter) responseID() string {
	m.finish()
	return m.id
}

// Interface guards
var _ inbound.UsageMeter = (*relayMeter)(nil)
