package inbound

import "bytes"

// Lines cuts what is written to it, in pieces of any size, into lines
// without their line ending, for a UsageMeter that reads a raw event
// stream as it goes to the client. Only the lines it keeps are held
// whole: those within Max bytes whose beginning Keep accepts.
type Lines struct {
	// Max bounds a kept line; a longer one is passed over.
	Max int
	// Sniff is how many of a line's first bytes Keep is shown, once
	// they have come; a shorter line is shown whole.
	Sniff int
	// Keep, when set, tells from a line's beginning whether to keep it.
	Keep func(start []byte) bool
	// Line is called with each kept line; the slice is valid until it
	// returns.
	Line func(line []byte)

	buf      []byte
	skipping bool // the line being read is not kept
	kept     bool // Keep accepted the line being read's beginning
}

// Write never fails.
func (l *Lines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		line, rest, complete := bytes.Cut(p, []byte("\n"))
		if !l.skipping {
			l.buf = append(l.buf, line...)
			if !l.kept && len(l.buf) >= l.Sniff {
				// Asked once per line, when its beginning has come.
				l.kept = l.keeps()
				l.skipping = !l.kept
			}
			l.skipping = l.skipping || len(l.buf) > l.Max
		}
		if !complete {
			break
		}
		if !l.skipping && (l.kept || l.keeps()) {
			l.Line(bytes.TrimSuffix(l.buf, []byte("\r")))
		}
		l.buf, l.skipping, l.kept = l.buf[:0], false, false
		p = rest
	}
	return n, nil
}

func (l *Lines) keeps() bool { return l.Keep == nil || l.Keep(l.buf) }
