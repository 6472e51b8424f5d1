package sse

import (
	"bufio"
	"bytes"
	"io"
)

const (
	// A Reader starts with a small read buffer and grows it once, the
	// first time a read fills it. Most streams are slow (an event per
	// model token) and their events fit the small one, so many streams
	// held open at once cost little; a fast stream gets the large one and
	// fewer reads.
	minBufSize = 1 << 10
	maxBufSize = 4 << 10
	// keptBufSize is the largest line or data buffer Reset keeps.
	keptBufSize = 64 << 10
	// defaultMaxEvent applies when NewReader gets a non-positive limit.
	defaultMaxEvent = 1 << 20
	// lineSlack lets a line hold a full-sized value plus its field name.
	lineSlack = 16
)

var bom = []byte("\xef\xbb\xbf")

// Reader reads events from an io.Reader. It buffers input, so it must be the
// only consumer of that reader. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	src     fillReader
	max     int
	line    []byte // the start of a line longer than the read buffer
	data    []byte
	name    []byte
	id      []byte
	rerr    error // read error seen but not yet acted on
	err     error // sticky error returned by every later Next
	started bool  // first line seen, so a BOM can no longer appear
	cr      bool  // last line ended in '\r'; a leading '\n' belongs to it
	// plainEnd, when above 0, is where the line of the plain event that
	// begins the buffered input ends, as Ready found it: plainEvent then
	// takes the event without searching for its end again.
	plainEnd int
	// crFree is how many buffered bytes, from the read position on, are
	// known to hold no '\r': the plain events of a read are searched for
	// one once, not each on its own.
	crFree int
}

// NewReader returns a Reader for r. maxEvent bounds the size of one event's
// data (values of 0 or less select 1 MiB); a larger event makes Next return
// ErrEventTooLarge. Memory use stays around twice maxEvent plus a read
// buffer of 1 to 4 KiB however the input is shaped.
func NewReader(r io.Reader, maxEvent int) *Reader {
	if maxEvent <= 0 {
		maxEvent = defaultMaxEvent
	}
	// Passing nil first guarantees a private buffer: NewReaderSize would
	// hand back r itself if r were already a large enough *bufio.Reader,
	// and Reset would then clobber the caller's reader.
	// The data, name and id buffers are made when first needed: the
	// events nearly every upstream sends are taken whole from the read
	// buffer (plainEvent) and need none.
	rd := &Reader{br: bufio.NewReaderSize(nil, minBufSize), max: maxEvent}
	rd.src.r = r
	rd.br.Reset(&rd.src)
	return rd
}

// fillReader remembers whether the last read filled all the space it was
// given: the input then stopped at the buffer's end, not at the end of
// what the upstream had sent.
type fillReader struct {
	r    io.Reader
	full bool
}

func (f *fillReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.full = n > 0 && n == len(p)
	return n, err
}

// Reset discards all state and makes the Reader read from r, keeping its
// buffers so a pooled Reader serves new streams without allocating.
func (r *Reader) Reset(rd io.Reader) {
	r.src = fillReader{r: rd}
	r.br.Reset(&r.src)
	r.line = r.line[:0]
	// Buffers a rare huge event grew are not kept for the streams after.
	if cap(r.line) > keptBufSize {
		r.line = nil
	}
	if cap(r.data) > keptBufSize {
		r.data = nil
	}
	r.rerr, r.err = nil, nil
	r.started, r.cr = false, false
	r.plainEnd, r.crFree = 0, 0
}

// Next returns the next event that has at least one data (or error) line.
// Comment lines and events without data are skipped; `retry:` and unknown
// fields are ignored. It returns io.EOF once input ends between events.
// When input ends in the middle of an event that has data, that event is
// returned first and io.EOF on the following call. Any other read error is
// returned as is, dropping a partially read event, because a truncated
// payload would be worse than none.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	if data, ok := r.plainEvent(); ok {
		return Event{Data: data}, nil
	}
	r.data, r.name, r.id = r.data[:0], r.name[:0], r.id[:0]
	var hasData, hasName, hasID bool
	for {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			if err == io.EOF && hasData {
				break
			}
			return Event{}, err
		}
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			if hasData {
				break
			}
			r.name, r.id = r.name[:0], r.id[:0]
			hasName, hasID = false, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, line[len(line):]
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
		case "error":
			r.name = append(r.name[:0], "error"...)
			hasName = true
		case "event":
			r.name = append(r.name[:0], value...)
			hasName = true
			continue
		case "id":
			// The spec ignores IDs containing NUL.
			if bytes.IndexByte(value, 0) < 0 {
				r.id = append(r.id[:0], value...)
				hasID = true
			}
			continue
		default:
			continue
		}
		if hasData {
			r.data = append(r.data, '\n')
		}
		if len(r.data)+len(value) > r.max {
			r.err = ErrEventTooLarge
			return Event{}, r.err
		}
		r.data = append(r.data, value...)
		hasData = true
	}
	ev := Event{Data: r.data}
	if hasName {
		ev.Name = present(r.name)
	}
	if hasID {
		ev.ID = present(r.id)
	}
	return ev, nil
}

// present returns b, or an empty non-nil slice for a field that was
// present with no value, which b (made when first needed) may be nil for.
func present(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// NextPlain returns the data of the next event, as Next would, when that
// event is in the form nearly every upstream writes: one `data: ` line
// and a blank line, each ended by "\n". Like Next it waits for the
// event's first bytes. For any other event, and at the end of input, it
// reports false and consumes nothing: Next then reads it. Unlike Next, it
// makes no Event.
func (r *Reader) NextPlain() ([]byte, bool) {
	if r.err != nil {
		return nil, false
	}
	return r.plainEvent()
}

// plainEvent takes the next event when it is buffered whole in the form
// nearly every upstream writes: one `data: ` line and a blank line, each
// ended by "\n". Its data is sliced out of the read buffer, not copied;
// it stays valid until the next call that reads, as Next's always has.
func (r *Reader) plainEvent() ([]byte, bool) {
	if !r.started || r.cr {
		return nil, false
	}
	end := r.plainEnd
	if end == 0 {
		if r.br.Buffered() == 0 && r.rerr == nil {
			// A slow stream's next event is not here yet: wait for its
			// start, which usually comes with the rest of it.
			if _, err := r.br.Peek(1); err != nil {
				r.rerr = err
				return nil, false
			}
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		if end = r.plainLineEnd(buf); end < 0 {
			return nil, false
		}
	}
	buf, _ := r.br.Peek(end + 2) // buffered: never reads
	r.br.Discard(end + 2)
	r.plainEnd, r.crFree = 0, max(r.crFree-(end+2), 0)
	return buf[len(dataSpace):end], true
}

// plainLineEnd returns where the `data: ` line ends of the plain event
// that begins buf, which begins at the read position, or -1 when buf does
// not begin with a whole one.
func (r *Reader) plainLineEnd(buf []byte) int {
	end := r.dataLineEnd(buf)
	if end < 0 {
		return -1
	}
	if end > r.crFree {
		r.extendCRFree(buf)
		if end > r.crFree {
			return -1
		}
	}
	return end
}

// extendCRFree searches buf, the buffered input from the read position
// on, for a '\r' past the part already known to hold none, once.
func (r *Reader) extendCRFree(buf []byte) {
	if len(buf) <= r.crFree {
		return
	}
	if c := bytes.IndexByte(buf[r.crFree:], '\r'); c < 0 {
		r.crFree = len(buf)
	} else {
		r.crFree += c
	}
}

// dataLineEnd returns where the `data: ` line ends of the event that
// begins buf when that event is plain, not counting a '\r' in the line
// (which would end it), or -1.
func (r *Reader) dataLineEnd(buf []byte) int {
	if !bytes.HasPrefix(buf, dataSpace) {
		return -1
	}
	end := bytes.IndexByte(buf, '\n')
	if end < 0 || end+1 == len(buf) || buf[end+1] != '\n' || end-len(dataSpace) > r.max {
		return -1
	}
	return end
}

// Buffered returns the input buffered from the read position on, up to
// its first '\r' (which plain events never hold), without reading. The
// plain events it begins with can be cut from it with CutPlain and
// consumed with Skip: a relay that passes events on as they came then
// neither copies them nor makes a call for each, and may rewrite the
// ones it skips. It returns nothing where events cannot be cut from the
// read position: before the first event (a byte-order mark may open the
// input), after a line ended by a lone '\r', and after an error.
func (r *Reader) Buffered() []byte {
	if !r.started || r.cr || r.err != nil {
		return nil
	}
	buf, _ := r.br.Peek(r.br.Buffered())
	r.extendCRFree(buf)
	return buf[:r.crFree]
}

// CutPlain returns the data of the plain event that begins buf, a part
// of what Buffered returned that begins at an event, and the event's
// size; size is 0 when buf does not begin with a whole plain event.
func (r *Reader) CutPlain(buf []byte) (data []byte, size int) {
	end := r.dataLineEnd(buf)
	if end < 0 {
		return nil, 0
	}
	return buf[len(dataSpace):end], end + 2
}

// Skip consumes the first n bytes of what Buffered returned, the events
// that CutPlain cut from it.
func (r *Reader) Skip(n int) {
	r.br.Discard(n)
	r.plainEnd, r.crFree = 0, max(r.crFree-n, 0)
}

// Ready reports whether Next will return without waiting for the
// upstream to send anything more: a whole data event is buffered, or part
// of one is and the last read stopped only because the buffer was full.
// The rest of that event was sent with its start and is read at once.
// A relay uses it to flush once for a burst of events instead of once per
// event (or once per buffer's worth, for a burst larger than the buffer),
// without ever holding back an event for one the upstream has not begun
// to send.
func (r *Reader) Ready() bool {
	n := r.br.Buffered()
	if r.err != nil {
		return false
	}
	if r.plainEnd > 0 || r.src.full && (n > 0 || len(r.line) > 0) {
		return true
	}
	if n == 0 || len(r.line) > 0 {
		return false
	}
	buf, _ := r.br.Peek(n)
	if r.started && !r.cr {
		if end := r.plainLineEnd(buf); end > 0 {
			r.plainEnd = end
			return true
		}
	}
	if r.cr && buf[0] == '\n' {
		buf = buf[1:]
	}
	start := dataLineStart(buf)
	if start < 0 {
		return false
	}
	rest := buf[start:]
	return bytes.Contains(rest, blankLF) || bytes.Contains(rest, blankCRLF) || bytes.Contains(rest, blankCR)
}

var (
	blankLF   = []byte("\n\n")
	blankCRLF = []byte("\r\n\r\n")
	blankCR   = []byte("\r\r")
	dataField = []byte("data:")
	dataSpace = []byte("data: ")
)

// dataLineStart finds a line that starts with `data:` in buf, which begins
// at a line start.
func dataLineStart(buf []byte) int {
	for off := 0; off < len(buf); {
		if bytes.HasPrefix(buf[off:], dataField) {
			return off
		}
		nl := bytes.IndexAny(buf[off:], "\r\n")
		if nl < 0 {
			return -1
		}
		off += nl + 1
	}
	return -1
}
