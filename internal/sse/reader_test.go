package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// ev is an Event in comparable form; "<nil>" marks an absent field.
type ev struct{ name, data, id string }

const absent = "<nil>"

func show(b []byte) string {
	if b == nil {
		return absent
	}
	return string(b)
}

// readAll drains r, returning the events and the error that ended them.
func readAll(r *Reader) ([]ev, error) {
	var got []ev
	for len(got) < 1e5 {
		e, err := r.Next()
		if err != nil {
			return got, err
		}
		got = append(got, ev{show(e.Name), string(e.Data), show(e.ID)})
	}
	return got, errors.New("runaway reader")
}

// readAllAsking is readAll for a reader whose Ready is called before
// each Next, as a relay does.
func readAllAsking(r *Reader) ([]ev, error) {
	var got []ev
	for len(got) < 1e5 {
		r.Ready()
		e, err := r.Next()
		if err != nil {
			return got, err
		}
		got = append(got, ev{show(e.Name), string(e.Data), show(e.ID)})
	}
	return got, errors.New("runaway reader")
}

// readAllCutting is readAll for a reader whose buffered plain events are
// cut from Buffered before each Next, as a relay that passes them on
// does.
func readAllCutting(r *Reader) ([]ev, error) {
	var got []ev
	for len(got) < 1e5 {
		r.Ready()
		buf, off := r.Buffered(), 0
		for {
			data, size := r.CutPlain(buf[off:])
			if size == 0 {
				break
			}
			got = append(got, ev{absent, string(data), absent})
			off += size
		}
		r.Skip(off)
		e, err := r.Next()
		if err != nil {
			return got, err
		}
		got = append(got, ev{show(e.Name), string(e.Data), show(e.ID)})
	}
	return got, errors.New("runaway reader")
}

// readers read a whole input in each of the ways a relay does.
var readers = map[string]func(*Reader) ([]ev, error){
	"":              readAll,
	"/asking Ready": readAllAsking,
	"/cutting":      readAllCutting,
}

// splitters feed the same bytes with different chunk boundaries.
var splitters = map[string]func(io.Reader) io.Reader{
	"whole":   func(r io.Reader) io.Reader { return r },
	"onebyte": iotest.OneByteReader,
	"half":    iotest.HalfReader,
	"dataerr": iotest.DataErrReader,
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []ev
		wantErr error
	}{
		{
			name: "openai",
			in:   "data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n",
			want: []ev{{absent, `{"a":1}`, absent}, {absent, `{"a":2}`, absent}, {absent, "[DONE]", absent}},
		},
		{
			name: "dashscope",
			in:   "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{}}\n\nid:2\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"finish_reason\":\"stop\"}}\n\n",
			want: []ev{{"result", `{"output":{}}`, "1"}, {"result", `{"output":{"finish_reason":"stop"}}`, "2"}},
		},
		{
			name: "anthropic",
			in:   "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			want: []ev{{"message_start", `{"type":"message_start"}`, absent}, {"ping", `{"type": "ping"}`, absent}, {"message_stop", `{"type":"message_stop"}`, absent}},
		},
		{
			name: "llama.cpp error line",
			in:   "data: {\"a\":1}\n\nerror: {\"code\":500,\"message\":\"boom\"}\n\n",
			want: []ev{{absent, `{"a":1}`, absent}, {"error", `{"code":500,"message":"boom"}`, absent}},
		},
		{
			name: "crlf",
			in:   "event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
			want: []ev{{"e", "a\nb", absent}, {absent, "c", absent}},
		},
		{
			name: "lone cr",
			in:   "event: e\rdata: a\rdata: b\r\rdata: c\r\r",
			want: []ev{{"e", "a\nb", absent}, {absent, "c", absent}},
		},
		{
			name: "mixed endings",
			in:   "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r",
			want: []ev{{absent, "a\nb\nc", absent}, {absent, "d", absent}},
		},
		{
			name: "cr then blank crlf",
			in:   "data: a\r\r\ndata: b\n\n",
			want: []ev{{absent, "a", absent}, {absent, "b", absent}},
		},
		{
			// The plain events before it must not vouch for the lone
			// "\r" in a later one.
			name: "cr in a later event",
			in:   "data: x\n\ndata: y\n\ndata: a\rb\n\n",
			want: []ev{{absent, "x", absent}, {absent, "y", absent}, {absent, "a", absent}},
		},
		{
			name: "multi-line data",
			in:   "data: line1\ndata: line2\ndata:\ndata: line4\n\n",
			want: []ev{{absent, "line1\nline2\n\nline4", absent}},
		},
		{
			name: "only one space stripped",
			in:   "data:  two\ndata:\tx\n\n",
			want: []ev{{absent, " two\n\tx", absent}},
		},
		{
			name: "colon in value kept",
			in:   "data: a: b:c\n\n",
			want: []ev{{absent, "a: b:c", absent}},
		},
		{
			name: "empty data line dispatches",
			in:   "data:\n\ndata\n\n",
			want: []ev{{absent, "", absent}, {absent, "", absent}},
		},
		{
			name: "events without data skipped",
			in:   "event: a\nid: 1\n\n: ping\n\nretry: 100\n\nevent: b\ndata: x\n\n",
			want: []ev{{"b", "x", absent}},
		},
		{
			name: "unknown fields and retry ignored",
			in:   "retry: 3000\nfoo: bar\nDATA: shout\ndata: x\nbogus\n\n",
			want: []ev{{absent, "x", absent}},
		},
		{
			name: "field without colon",
			in:   "event\ndata: x\n\n",
			want: []ev{{"", "x", absent}},
		},
		{
			name: "later event field wins",
			in:   "event: a\nevent: b\ndata: x\n\n",
			want: []ev{{"b", "x", absent}},
		},
		{
			name: "id with NUL ignored",
			in:   "id: 7\nid: a\x00b\ndata: x\n\ndata: y\n\n",
			want: []ev{{absent, "x", "7"}, {absent, "y", absent}},
		},
		{
			name: "empty id present",
			in:   "id\ndata: x\n\n",
			want: []ev{{absent, "x", ""}},
		},
		{
			name: "comments skipped",
			in:   ": hello\n:HTTP_STATUS/200\ndata: x\n: mid\ndata: y\n\n",
			want: []ev{{absent, "x\ny", absent}},
		},
		{
			name: "bom at start",
			in:   "\xef\xbb\xbfdata: x\n\n",
			want: []ev{{absent, "x", absent}},
		},
		{
			name: "bom later is data",
			in:   "data: x\n\n\xef\xbb\xbfdata: y\n\ndata: z\n\n",
			want: []ev{{absent, "x", absent}, {absent, "z", absent}},
		},
		{
			name: "missing final blank line",
			in:   "data: a\n\ndata: b\n",
			want: []ev{{absent, "a", absent}, {absent, "b", absent}},
		},
		{
			name: "missing final newline",
			in:   "data: a\n\nevent: e\ndata: b",
			want: []ev{{absent, "a", absent}, {"e", "b", absent}},
		},
		{
			name: "trailing cr",
			in:   "data: a\r",
			want: []ev{{absent, "a", absent}},
		},
		{
			name: "trailing event without data",
			in:   "data: a\n\nevent: e\n",
			want: []ev{{absent, "a", absent}},
		},
		{
			name: "empty input",
			in:   "",
		},
		{
			name: "blank lines only",
			in:   "\n\n\r\n\r",
		},
		{
			name: "long line spans buffer",
			in:   "data: " + long + "\ndata: " + long[:5000] + "\n\ndata: short\n\n",
			want: []ev{{absent, long + "\n" + long[:5000], absent}, {absent, "short", absent}},
		},
		{
			name: "long line at eof",
			in:   "data: " + long,
			want: []ev{{absent, long, absent}},
		},
		{
			name: "long comment ignored within small limit",
			in:   ":" + long + "\ndata: x\n\n",
			max:  16,
			want: []ev{{absent, "x", absent}},
		},
		{
			name: "long comment at eof",
			in:   "data: x\n\n:" + long,
			max:  16,
			want: []ev{{absent, "x", absent}},
		},
		{
			name: "data at limit",
			in:   "data: 0123456789\n\n",
			max:  10,
			want: []ev{{absent, "0123456789", absent}},
		},
		{
			name:    "data over limit",
			in:      "data: ok\n\ndata: 0123456789a\n\ndata: never\n\n",
			max:     10,
			want:    []ev{{absent, "ok", absent}},
			wantErr: ErrEventTooLarge,
		},
		{
			name:    "joined data over limit",
			in:      "data: 01234\ndata: 56789\n\n",
			max:     10,
			wantErr: ErrEventTooLarge,
		},
		{
			name:    "huge line over limit",
			in:      "data: " + long + "\n\n",
			max:     1000,
			wantErr: ErrEventTooLarge,
		},
		{
			name:    "huge unknown field over limit",
			in:      "x-foo: " + long + "\n\ndata: x\n\n",
			max:     1000,
			wantErr: ErrEventTooLarge,
		},
		{
			name: "data within default limit",
			in:   "data: " + strings.Repeat(long, 10) + "\n\n",
			want: []ev{{absent, strings.Repeat(long, 10), absent}},
		},
	}
	for _, tt := range tests {
		for sname, split := range splitters {
			for rname, read := range readers {
				t.Run(tt.name+"/"+sname+rname, func(t *testing.T) {
					r := NewReader(split(strings.NewReader(tt.in)), tt.max)
					got, err := read(r)
					wantErr := tt.wantErr
					if wantErr == nil {
						wantErr = io.EOF
					}
					if err != wantErr {
						t.Errorf("error = %v, want %v", err, wantErr)
					}
					if fmt.Sprint(got) != fmt.Sprint(tt.want) {
						t.Errorf("events:\n got %q\nwant %q", got, tt.want)
					}
					if _, err2 := r.Next(); err2 != err {
						t.Errorf("error not sticky: then %v", err2)
					}
				})
			}
		}
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"between events", "data: a\n\n", []ev{{absent, "a", absent}}},
		{"mid event drops it", "data: a\n\ndata: b\n", []ev{{absent, "a", absent}}},
		{"mid line drops it", "data: a\n\ndata: b", []ev{{absent, "a", absent}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(io.MultiReader(strings.NewReader(tt.in), iotest.ErrReader(boom)), 0)
			got, err := readAll(r)
			if err != boom {
				t.Errorf("error = %v, want %v", err, boom)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderDoesNotReadAhead(t *testing.T) {
	// An event must be delivered as soon as its blank line arrives, even
	// with a lone "\r" terminator whose possible "\n" has not been sent.
	for _, in := range []string{"data: a\n\n", "data: a\r\r", "data: a\r\n\r\n"} {
		pr, pw := io.Pipe()
		go pw.Write([]byte(in))
		r := NewReader(pr, 0)
		e, err := r.Next()
		if err != nil || string(e.Data) != "a" {
			t.Fatalf("%q: Next = %q, %v", in, e.Data, err)
		}
		pw.Close()
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("%q: then %v, want EOF", in, err)
		}
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("data: a\n\ndata: partial"), 0)
	if e, err := r.Next(); err != nil || string(e.Data) != "a" {
		t.Fatalf("Next = %q, %v", e.Data, err)
	}
	r.Reset(strings.NewReader("\xef\xbb\xbfdata: b\n\n"))
	got, err := readAll(r)
	if err != io.EOF || fmt.Sprint(got) != fmt.Sprint([]ev{{absent, "b", absent}}) {
		t.Fatalf("after Reset: %q, %v", got, err)
	}
}

func TestReaderKeepsCallerBufio(t *testing.T) {
	// A caller's *bufio.Reader must not be adopted and later reset.
	src := strings.NewReader("data: a\n\n")
	outer := NewReader(src, 0)
	inner := NewReader(outer.br, 0)
	if inner.br == outer.br {
		t.Fatal("NewReader adopted the caller's bufio.Reader")
	}
}

func TestReaderAllocs(t *testing.T) {
	stream := openAIStream(50)
	src := bytes.NewReader(stream)
	r := NewReader(src, 0)
	drain := func() {
		src.Reset(stream)
		r.Reset(src)
		for {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	}
	drain() // let buffers grow to their working size
	if n := testing.AllocsPerRun(20, drain); n != 0 {
		t.Fatalf("%v allocations per 50-event stream, want 0", n)
	}
}

func TestReady(t *testing.T) {
	cases := []struct {
		name, input string
		// ready after reading the first event
		want bool
	}{
		{"next event complete", "data: a\n\ndata: b\n\n", true},
		{"next event partial", "data: a\n\ndata: b\n", false},
		{"only a comment buffered", "data: a\n\n: ping\n\n", false},
		{"comment then data", "data: a\n\n: ping\n\ndata: b\n\n", true},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", true},
		{"nothing more", "data: a\n\n", false},
		{"event field then data", "data: a\n\nevent: x\ndata: b\n\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.input), 0)
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if got := r.Ready(); got != tc.want {
				t.Errorf("Ready() = %v, want %v", got, tc.want)
			}
			if tc.want {
				if _, err := r.Next(); err != nil {
					t.Errorf("Ready but Next failed: %v", err)
				}
			}
		})
	}
}

// TestReadyWhenTheBufferFilledMidEvent: a burst larger than the read
// buffer stops mid-event at the buffer's end; the rest of that event was
// sent with it, so Ready holds the flush. A read that stops mid-event
// short of the buffer's end is all the upstream has sent: Ready is false.
func TestReadyWhenTheBufferFilledMidEvent(t *testing.T) {
	event := "data: " + strings.Repeat("x", 90) + "\n\n" // 98 bytes
	burst := strings.Repeat(event, maxBufSize/len(event)+3)
	for _, tc := range []struct {
		name  string
		input io.Reader
		want  bool
	}{
		{"burst beyond the buffer", strings.NewReader(burst), true},
		{"short read mid-event", io.MultiReader(strings.NewReader(event+event[:40]), strings.NewReader(event[40:])), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.input, 0)
			// Read the whole events of the first fill.
			for r.br.Buffered() == 0 || r.br.Buffered() >= len(event) {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if got := r.Ready(); got != tc.want {
				t.Errorf("Ready() = %v with %d bytes of an event buffered, want %v", got, r.br.Buffered(), tc.want)
			}
			if _, err := r.Next(); err != nil {
				t.Fatalf("the cut event: %v", err)
			}
		})
	}
}

// TestReadBufferGrowsOnlyForFastStreams: a stream whose events arrive one
// read at a time keeps the small buffer, however long it lasts; the first
// read that fills it grows it, and an event cut by the growth arrives
// whole.
func TestReadBufferGrowsOnlyForFastStreams(t *testing.T) {
	event := "data: " + strings.Repeat("y", 300) + "\n\n"
	t.Run("slow", func(t *testing.T) {
		pr, pw := io.Pipe()
		r := NewReader(pr, 0)
		go func() {
			for range 50 {
				_, _ = io.WriteString(pw, event)
			}
			_ = pw.Close()
		}()
		for i := range 50 {
			ev, err := r.Next()
			if err != nil || string(ev.Data) != event[6:306] {
				t.Fatalf("event %d: %q, %v", i, ev.Data, err)
			}
		}
		if got := r.br.Size(); got >= maxBufSize {
			t.Errorf("buffer %d bytes after 50 single-event reads, want less than %d", got, maxBufSize)
		}
	})
	t.Run("fast", func(t *testing.T) {
		r := NewReader(strings.NewReader(strings.Repeat(event, 50)), 0)
		for i := range 50 {
			ev, err := r.Next()
			if err != nil || string(ev.Data) != event[6:306] {
				t.Fatalf("event %d: %q, %v", i, ev.Data, err)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("after the last event: %v, want EOF", err)
		}
		if got := r.br.Size(); got != maxBufSize {
			t.Errorf("buffer %d bytes after a burst, want %d", got, maxBufSize)
		}
	})
}

// TestResetDropsHugeBuffers: a Reader kept for reuse does not keep alive
// what one huge event made it grow.
func TestResetDropsHugeBuffers(t *testing.T) {
	huge := "data: " + strings.Repeat("x", 1<<20) + "\n\n"
	r := NewReader(strings.NewReader(huge), 0)
	if ev, err := r.Next(); err != nil || len(ev.Data) != 1<<20 {
		t.Fatalf("huge event: %d bytes, %v", len(ev.Data), err)
	}
	r.Reset(strings.NewReader("data: a\n\n"))
	if cap(r.line) > keptBufSize || cap(r.data) > keptBufSize {
		t.Fatalf("kept %d and %d bytes of buffers after Reset", cap(r.line), cap(r.data))
	}
	if ev, err := r.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatalf("after Reset: %q, %v", ev.Data, err)
	}
}
