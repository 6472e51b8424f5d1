package ollama

import (
	"encoding/json"
	"io"

	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatStream reads Ollama's NDJSON chat stream: each line may carry
// thinking, content and complete tool calls; the `done:true` line carries
// the done reason and the counts.
type chatStream struct {
	lines   *lineReader
	answer  translate.Answer
	started bool
	tools   int // tool calls sent so far; the next call's index
}

// pull reads one line and pushes the chunks it makes.
func (c *chatStream) pull(s *translate.Stream) error {
	line, err := c.lines.next()
	if err != nil {
		return streamEnd(err)
	}
	var ev chatAnswer
	if err := json.Unmarshal(line, &ev); err != nil {
		return badAnswer("stream line", err)
	}
	if ev.Error != "" {
		return streamError(ev.Error)
	}
	if !c.started {
		s.Push(c.answer.RoleChunk(0))
		c.started = true
	}
	if ev.Message.Thinking != "" {
		s.Push(c.answer.ReasoningChunk(0, ev.Message.Thinking))
	}
	if ev.Message.Content != "" {
		s.Push(c.answer.TextChunk(0, ev.Message.Content))
	}
	// Every element is a call of its own, whatever function.index says:
	// Ollama sends several calls with index 0.
	for i := range ev.Message.ToolCalls {
		tc := &ev.Message.ToolCalls[i]
		s.Push(c.answer.ToolCallStart(0, c.tools, callID(tc), tc.Function.Name, argumentsText(tc.Function.Arguments)))
		c.tools++
	}
	if !ev.Done {
		return nil
	}
	s.Push(c.answer.FinishChunk(0, finishReason(ev.DoneReason, c.tools > 0)))
	s.Push(c.answer.UsageChunk(ev.usage()))
	return io.EOF
}
