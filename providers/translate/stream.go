package translate

import (
	"io"
)

// Stream turns a provider's native event stream into OpenAI chunks. Its
// pull function reads native events and pushes the chunks they make; it
// returns io.EOF after the native stream's end, having pushed the finish
// and usage chunks, or an error (a *providers.Error for an error the
// upstream reported, providers.ErrTruncated for an early end).
type Stream struct {
	pull        func(*Stream) error
	closer      io.Closer
	sourceReady func() bool
	queue       [][]byte
	err         error
}

// NewStream returns a Stream; closer releases the upstream connection.
func NewStream(pull func(*Stream) error, closer io.Closer) *Stream {
	return &Stream{pull: pull, closer: closer}
}

// Push queues a chunk for the client.
func (s *Stream) Push(chunk []byte) { s.queue = append(s.queue, chunk) }

// Next returns the next OpenAI chunk.
func (s *Stream) Next() ([]byte, error) {
	for len(s.queue) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		s.err = s.pull(s)
	}
	c := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	return c, nil
}

// SetSourceReady tells the stream how to see whether its native stream has
// a whole event at hand: pull then reads it without waiting on the
// upstream. With it Ready looks past the queue, so a relay flushes once per
// burst of native events rather than once per chunk.
func (s *Stream) SetSourceReady(ready func() bool) { s.sourceReady = ready }

// Ready reports whether Next will return without waiting on the upstream.
// Native events already at hand are translated here, one by one, until
// one makes a chunk: an event that makes none (a ping, a block's end)
// must not let Ready promise a chunk that Next would then wait for.
func (s *Stream) Ready() bool {
	for len(s.queue) == 0 && s.err == nil && s.sourceReady != nil && s.sourceReady() {
		s.err = s.pull(s)
	}
	return len(s.queue) > 0 || s.err != nil
}

// Close releases the upstream connection.
func (s *Stream) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}
