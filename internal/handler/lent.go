package handler

import "github.com/llmgateway/caddy-llm-gateway/providers"

// passLent relays the chunk events the stream has buffered whole, from
// the stream's own buffer: the events whose chunk the filter leaves
// unchanged, or shortens in place, are moved together there and written
// in one piece, so a run of them costs no copy and no call of Next each.
// It reports whether it took any event; Next reads the ones it leaves.
func passLent(out *eventWriter, lend providers.Lending, f *chunkFilter, rec *streamRecorder, x *exchange) (bool, error) {
	buf := lend.Lend()
	// buf[from:kept] is what is left to write; kept never passes off,
	// the start of the next event to read, so moving an event down
	// overwrites only events already read.
	var off, kept, from int
	for {
		chunk, size := lend.CutChunk(buf[off:])
		if size == 0 {
			break
		}
		if rec != nil {
			rec.add(chunk) // before apply, which may shorten the chunk
		}
		payload, keep := f.apply(chunk)
		switch {
		case !keep:
		case len(payload) > 0 && &payload[0] == &chunk[0]:
			n := len("data: ") + len(payload) // the event's form, as Lending lends it
			if kept != off || len(payload) != len(chunk) {
				copy(buf[kept:], buf[off:off+n])
				buf[kept+n], buf[kept+n+1] = '\n', '\n'
			}
			kept += n + 2
			x.chunks++
		default:
			// Rebuilt elsewhere: it goes out after what is kept so far.
			if err := out.events(buf[from:kept]); err != nil {
				return true, err
			}
			if err := out.chunk(payload); err != nil {
				return true, err
			}
			from = kept
			x.chunks++
		}
		off += size
	}
	if off == 0 {
		return false, nil
	}
	err := out.events(buf[from:kept])
	lend.Consumed(off)
	return true, err
}
