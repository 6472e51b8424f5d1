package handler

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// A burst is gathered in the buffer it starts with: a buffer grown by
// appends would be allocated anew at each doubling.
func TestBurstIsGatheredWithoutGrowingItsBuffer(t *testing.T) {
	out := newEventWriter(httptest.NewRecorder(), chatEncoder{})
	event := []byte(strings.TrimPrefix(chunk("c", strings.Repeat("w", 4000)), "data: "))
	if err := out.chunk(event); err != nil {
		t.Fatal(err)
	}
	first := &(*out.buf)[:1][0]
	for out.buf != nil {
		if &(*out.buf)[:1][0] != first {
			t.Fatalf("the burst's buffer was replaced at %d bytes", len(*out.buf))
		}
		if err := out.chunk(event); err != nil {
			t.Fatal(err)
		}
	}
}
