package sse

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// chunkReader returns the input in chunks whose sizes cycle through sizes,
// so the fuzzer controls where reads split the stream.
type chunkReader struct {
	data  []byte
	sizes []byte
	n     int
	empty bool // last read returned nothing
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	size := 1
	if len(c.sizes) > 0 {
		size = int(c.sizes[c.n%len(c.sizes)])
		c.n++
	}
	if size == 0 && c.empty {
		size = 1 // bufio gives up after many empty reads in a row
	}
	size = min(size, len(p), len(c.data))
	n := copy(p, c.data[:size]) // size 0 exercises empty reads
	c.data = c.data[n:]
	c.empty = n == 0
	return n, nil
}

// FuzzReader checks that the Reader never panics and that its output does
// not depend on how the input is split into reads, or on Ready.
func FuzzReader(f *testing.F) {
	f.Add([]byte("data: a\n\n"), []byte{1}, uint16(0))
	f.Add([]byte("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n"), []byte{3, 7}, uint16(8))
	f.Add([]byte("event: e\r\ndata: a\r\ndata: b\r\n\r\n"), []byte{2, 0, 5}, uint16(0))
	f.Add([]byte("\xef\xbb\xbfdata: a\r\rerror: {}\r"), []byte{1, 1, 9}, uint16(3))
	f.Add(bytes.Repeat([]byte("data: 0123456789abcdef\n"), 400), []byte{255, 13}, uint16(5000))
	f.Fuzz(func(t *testing.T, in, sizes []byte, max uint16) {
		run := func(src io.Reader) string {
			r := NewReader(src, int(max))
			got, err := readAll(r)
			return fmt.Sprintf("%q %v", got, err)
		}
		want := run(bytes.NewReader(in))
		for name, split := range splitters {
			if got := run(split(bytes.NewReader(in))); got != want {
				t.Fatalf("%s: %s\nwhole: %s", name, got, want)
			}
		}
		if got := run(&chunkReader{data: in, sizes: sizes}); got != want {
			t.Fatalf("chunks %v: %s\nwhole: %s", sizes, got, want)
		}
		// A relay asks Ready before each Next, and may cut the plain
		// events buffered; neither may change what the reader yields.
		for name, read := range readers {
			r := NewReader(&chunkReader{data: in, sizes: sizes}, int(max))
			got, err := read(r)
			if s := fmt.Sprintf("%q %v", got, err); s != want {
				t.Fatalf("chunks %v%s: %s\nwhole: %s", sizes, name, s, want)
			}
		}
	})
}
