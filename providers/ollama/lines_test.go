package ollama

import (
	"errors"
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

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the bufio buffer
	cases := []struct {
		name, in string
		max      int
		want     []string
		err      error
	}{
		{"lines", "a\nb\n", 1 << 20, []string{"a", "b"}, io.EOF},
		{"crlf and blank lines", "a\r\n\r\n\n  \nb\r\n", 1 << 20, []string{"a", "b"}, io.EOF},
		{"last line without newline", "a\nb", 1 << 20, []string{"a", "b"}, io.EOF},
		{"long line", long + "\nb\n", 1 << 20, []string{long, "b"}, io.EOF},
		{"too long", long + "\n", 100 << 10, nil, errLineTooLong},
		{"empty", "", 10, nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLineReader(strings.NewReader(tc.in), tc.max)
			var got []string
			for {
				line, err := l.next()
				if err != nil {
					if !errors.Is(err, tc.err) {
						t.Errorf("err = %v, want %v", err, tc.err)
					}
					break
				}
				got = append(got, string(line))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("lines = %.40q, want %.40q", got, tc.want)
			}
		})
	}
}
