package ollama

import (
	"io"
	"strings"
	"testing"
)

func TestLineReaderReadyOnlyForAWholeLine(t *testing.T) {
	for _, tc := range []struct {
		buffered string
		want     bool
	}{
		{"", false},
		{`{"done":false}`, false}, // no newline yet
		{"\n\n  \n", false},       // blank lines make no line
		{"\n \n{\"done\":true}\n", true},
		{`{"a":1}` + "\n{\"b\"", true},
	} {
		l := newLineReader(io.MultiReader(strings.NewReader(tc.buffered), blockingReader{}), 1<<10)
		_, _ = l.r.Peek(len(tc.buffered)) // fill the buffer as the network would
		if got := l.ready(); got != tc.want {
			t.Errorf("buffered %q: ready = %v, want %v", tc.buffered, got, tc.want)
		}
	}
}

// blockingReader fails the test if read: ready must not wait for input.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { panic("read past what was buffered") }
