package responses

// The events of a Responses stream, but for the lifecycle and delta
// events, which stream.go writes by hand.

// sequenced is an event, which the stream numbers as it goes out.
type sequenced interface {
	number(n int)
	eventType() string
}

// head is what every event begins with.
type head struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
}

func (h *head) number(n int)      { h.SequenceNumber = n }
func (h *head) eventType() string { return h.Type }

// typed is the head of an event of type t.
func typed(t string) head { return head{Type: t} }

// itemEvent is response.output_item.added or .done.
type itemEvent struct {
	head
	OutputIndex int `json:"output_index"`
	Item        any `json:"item"`
}

// partEvent is response.content_part.added or .done.
type partEvent struct {
	head
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	ContentIndex int         `json:"content_index"`
	Part         *outputText `json:"part"`
}

// textEvent is response.output_text.done.
type textEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
	Logprobs     []any  `json:"logprobs"`
}

// argumentsEvent is response.function_call_arguments.done.
type argumentsEvent struct {
	head
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

// summaryPartEvent is response.reasoning_summary_part.added or .done.
type summaryPartEvent struct {
	head
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	SummaryIndex int         `json:"summary_index"`
	Part         summaryText `json:"part"`
}

// summaryTextEvent is response.reasoning_summary_text.done.
type summaryTextEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	SummaryIndex int    `json:"summary_index"`
	Text         string `json:"text"`
}
