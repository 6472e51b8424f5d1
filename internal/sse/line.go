package sse

import (
	"bufio"
	"bytes"
	"io"
)

// commentLine stands in for a comment too long to keep in memory.
var commentLine = []byte{':'}

// readLine returns the next line without its terminator ("\n", "\r\n" or a
// lone "\r"). The result aliases internal buffers and is valid until the
// next call. At end of input an unterminated last line counts as a line.
//
// Lines are sliced straight out of the bufio.Reader's buffer; only a line
// longer than that buffer, or one that straddles its growth, is copied,
// into r.line, which is then reused.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	// What they describe is about to move.
	r.plainEnd, r.crFree = 0, 0
	spilled := false // r.line holds the start of the current line
	comment := false // the spilled line is a comment and is being dropped
	scanned := 0     // bytes of buf already known to hold no terminator
	for {
		buf, _ := r.br.Peek(r.br.Buffered()) // never blocks
		if r.cr && len(buf) > 0 {
			// Deferred until now so a stream using lone "\r" never
			// blocks waiting to see whether "\n" follows.
			r.cr = false
			if buf[0] == '\n' {
				r.br.Discard(1)
				buf = buf[1:]
			}
		}
		if j := indexEOL(buf[scanned:]); j >= 0 {
			j += scanned
			n := j + 1
			if buf[j] == '\r' {
				if n < len(buf) {
					if buf[n] == '\n' {
						n++
					}
				} else {
					r.cr = true
				}
			}
			line, err := r.finish(buf[:j], spilled, comment)
			r.br.Discard(n)
			return line, err
		}
		scanned = len(buf)
		if r.rerr != nil {
			if r.rerr != io.EOF || (len(buf) == 0 && !spilled) {
				return nil, r.rerr
			}
			line, err := r.finish(buf, spilled, comment)
			r.br.Discard(len(buf))
			return line, err
		}
		grow := r.src.full && r.br.Size() < maxBufSize
		if len(buf) > 0 && (grow || len(buf) == r.br.Size()) {
			// The line outgrows the buffer, or the buffer is about to be
			// replaced: move what we have aside.
			if !spilled {
				spilled, comment = true, buf[0] == ':'
			}
			if !comment {
				if len(r.line)+len(buf) > r.maxLine() {
					return nil, ErrEventTooLarge
				}
				r.line = append(r.line, buf...)
			}
			r.br.Discard(len(buf))
			buf, scanned = buf[:0], 0
		}
		if grow {
			// Nothing is buffered now, so nothing is lost.
			r.br = bufio.NewReaderSize(&r.src, maxBufSize)
		}
		// Ask for one byte more than is buffered to make bufio read.
		if _, err := r.br.Peek(len(buf) + 1); err != nil {
			r.rerr = err
		}
	}
}

// maxLine bounds a line moved aside. A line that fits the largest read
// buffer is never refused here, so whether a line is refused does not
// depend on whether it happened to be moved aside (which depends on how
// the input was split into reads and when the buffer grew).
func (r *Reader) maxLine() int { return max(r.max+lineSlack, maxBufSize) }

// finish completes a line whose final part is tail.
func (r *Reader) finish(tail []byte, spilled, comment bool) ([]byte, error) {
	switch {
	case !spilled:
		return tail, nil
	case comment:
		return commentLine, nil
	case len(r.line)+len(tail) > r.maxLine():
		return nil, ErrEventTooLarge
	}
	r.line = append(r.line, tail...)
	return r.line, nil
}

// indexEOL returns the index of the first '\r' or '\n' in b, or -1. Two
// vectorised IndexByte scans beat a byte loop over the pair.
func indexEOL(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	head := b
	if n >= 0 {
		head = b[:n]
	}
	if c := bytes.IndexByte(head, '\r'); c >= 0 {
		return c
	}
	return n
}
