package ollama

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// lineReader splits an NDJSON body into lines. A line that fits the
// bufio buffer is returned without copying; a longer one is gathered in a
// buffer that is kept for the next long line. Lines are bounded so a
// broken upstream cannot make the gateway hold an unbounded body.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

// errLineTooLong reports a line beyond the bound; the stream cannot be
// resynchronised after it.
var errLineTooLong = errors.New("ndjson line exceeds the size limit")

// lineBufSize fits a typical streamed line; longer ones are gathered in
// buf. It is small because every open stream holds one.
const lineBufSize = 4 << 10

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, lineBufSize), max: max}
}

// next returns the next non-blank line without its line ending. The slice
// is valid until the following call. At the end of the body it returns
// io.EOF; a last line without a newline is still returned first.
func (l *lineReader) next() ([]byte, error) {
	for {
		line, err := l.read()
		if len(line) > 0 || err != nil {
			return line, err
		}
	}
}

func (l *lineReader) read() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		if err == nil && len(l.buf) == 0 {
			return bytes.TrimSpace(frag), nil
		}
		if len(l.buf)+len(frag) > l.max {
			return nil, errLineTooLong
		}
		l.buf = append(l.buf, frag...)
		switch {
		case err == nil:
			return bytes.TrimSpace(l.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(bytes.TrimSpace(l.buf)) > 0:
			return bytes.TrimSpace(l.buf), nil
		default:
			return nil, err
		}
	}
}

// ready reports whether a whole non-blank line is buffered, so next
// returns it without waiting on the upstream.
func (l *lineReader) ready() bool {
	buf, _ := l.r.Peek(l.r.Buffered())
	for {
		end := bytes.IndexByte(buf, '\n')
		if end < 0 {
			return false
		}
		if len(bytes.TrimSpace(buf[:end])) > 0 {
			return true
		}
		buf = buf[end+1:]
	}
}

// stream returns the OpenAI stream that pull makes of these lines.
func (l *lineReader) stream(pull func(*translate.Stream) error, body io.Closer) *translate.Stream {
	s := translate.NewStream(pull, body)
	s.SetSourceReady(l.ready)
	return s
}

// streamEnd turns a read failure into the stream's error: the body ended
// before Ollama's `done:true` line, or could not be read.
func streamEnd(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return providers.ErrTruncated
	case errors.Is(err, errLineTooLong):
		return providers.NewError(http.StatusBadGateway, "upstream_error", "ollama sent a stream line larger than 8 MiB")
	}
	return err
}
