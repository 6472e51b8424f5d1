package providers

import (
	"context"
	"io"
)

// A ReadWatcher is told when each read of a streamed answer's body begins
// and ends. The gateway's stream idle timeout watches the reads
// themselves: they are the only place a stream waits on its upstream, and
// there are far fewer of them than events.
type ReadWatcher interface {
	// Watching is called once a body reports its reads to the watcher.
	Watching()
	ReadStarts()
	ReadEnds()
}

type readWatcherKey struct{}

// WithReadWatcher returns a copy of ctx whose streamed answers report
// their body's reads to w.
func WithReadWatcher(ctx context.Context, w ReadWatcher) context.Context {
	return context.WithValue(ctx, readWatcherKey{}, w)
}

// watchReads makes body report its reads to the watcher ctx carries, if
// any.
func watchReads(ctx context.Context, body io.ReadCloser) io.ReadCloser {
	w, _ := ctx.Value(readWatcherKey{}).(ReadWatcher)
	if w == nil {
		return body
	}
	w.Watching()
	return &watchedBody{ReadCloser: body, w: w}
}

// watchedBody is a streamed answer's body that reports its reads.
type watchedBody struct {
	io.ReadCloser
	w ReadWatcher
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.w.ReadStarts()
	n, err := b.ReadCloser.Read(p)
	b.w.ReadEnds()
	return n, err
}
