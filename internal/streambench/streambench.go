// Package streambench measures stream translators: the time and the
// allocations it takes to turn one recorded upstream stream into OpenAI
// chunks, so that a change that costs more per event shows in the figures
// of `go test -bench Stream -benchmem`.
package streambench

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Run benchmarks open over each recorded stream file, one sub-benchmark
// per file named after it. Each iteration reads the whole stream; it
// must end with io.EOF. chunks/op is the number of OpenAI chunks made.
func Run(b *testing.B, open func(io.Reader) providers.EventStream, files ...string) {
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
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
