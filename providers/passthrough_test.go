package providers

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestClosedStreamLeavesItsReaderToTheNext: a stream's event reader
// serves a later stream once the first is closed, and the closed stream
// reads nothing of the later one's.
func TestClosedStreamLeavesItsReaderToTheNext(t *testing.T) {
	open := func(events string) EventStream {
		return OpenAIResponse(&http.Response{Body: io.NopCloser(strings.NewReader(events))}, true).Stream
	}
	first := open("data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n")
	if chunk, err := first.Next(); err != nil || string(chunk) != `{"n":1}` {
		t.Fatalf("first stream: %q, %v", chunk, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := open("data: {\"m\":1}\n\ndata: [DONE]\n\n")
	if chunk, err := first.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("closed stream read %q, %v; want io.EOF", chunk, err)
	}
	if first.(Bursting).Ready() {
		t.Fatal("closed stream says an event is ready")
	}
	if chunk, err := second.Next(); err != nil || string(chunk) != `{"m":1}` {
		t.Fatalf("second stream: %q, %v", chunk, err)
	}
	if _, err := second.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("second stream did not end: %v", err)
	}
	if err := second.Close(); err != nil || second.Close() != nil {
		t.Fatal("closing twice failed")
	}
}
