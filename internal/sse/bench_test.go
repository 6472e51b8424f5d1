package sse

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// openAIStream builds an n-event OpenAI chat completion stream ending in
// [DONE], as a real upstream sends it.
func openAIStream(n int) []byte {
	var b bytes.Buffer
	for i := range n - 1 {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-9xQ2mJkR7bT4vNwYz1aLp\",\"object\":\"chat.completion.chunk\",\"created\":1718900000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token%d\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", i)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkReader reads a 50-event stream with a fresh Reader per stream.
func BenchmarkReader(b *testing.B) {
	stream := openAIStream(50)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), 0)
		for n := 0; ; n++ {
			if _, err := r.Next(); err != nil {
				if err != io.EOF || n != 50 {
					b.Fatal(n, err)
				}
				break
			}
		}
	}
}

// BenchmarkReaderReset reads the same stream through one reused Reader,
// which is the steady state of a pooled Reader.
func BenchmarkReaderReset(b *testing.B) {
	stream := openAIStream(50)
	src := bytes.NewReader(stream)
	r := NewReader(src, 0)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(stream)
		r.Reset(src)
		for n := 0; ; n++ {
			if _, err := r.Next(); err != nil {
				if err != io.EOF || n != 50 {
					b.Fatal(n, err)
				}
				break
			}
		}
	}
}

// BenchmarkReaderCRLFOneByte measures the slow path: CRLF line endings
// delivered one byte per read.
func BenchmarkReaderCRLFOneByte(b *testing.B) {
	stream := bytes.ReplaceAll(openAIStream(50), []byte("\n"), []byte("\r\n"))
	src := bytes.NewReader(stream)
	r := NewReader(src, 0)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(stream)
		r.Reset(oneByte{src})
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
