package providertest

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// BenchmarkStream measures a stream translator: the time and allocations
// it takes to turn one recorded upstream stream into OpenAI chunks, so
// that a change that costs more per event shows in the figures of
// `go test -bench Stream -benchmem`. open makes the translator over a
// body; there is one sub-benchmark per file, named after it. Each
// iteration reads the whole stream, which must end with io.EOF;
// chunks/op is the number of OpenAI chunks made.
func BenchmarkStream(b *testing.B, open func(io.Reader) providers.EventStream, files ...string) {
	for _, file := range files {
		data := ReadFile(b, file)
		b.Run(filepath.Base(file), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			chunks := 0
			for b.Loop() {
				s := open(bytes.NewReader(data))
				for {
					_, err := s.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatalf("%s: %v", file, err)
					}
					chunks++
				}
				_ = s.Close()
			}
			b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
		})
	}
}
