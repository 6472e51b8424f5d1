package responses

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"
)

// Store keeps the responses made with `store` (OpenAI's default) for
// `previous_response_id`, `GET /v1/responses/{id}`, its input items and
// `DELETE`, each for the caller who made it, in this instance's memory.
// It holds at most MaxBytes of responses, dropping the oldest first, and
// forgets each after TTL. Its settings come ready for use: the root
// module owns their defaults.
type Store struct {
	// TTL is how long a response is kept.
	TTL time.Duration
	// MaxBytes bounds the size of the responses and items kept.
	MaxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element // by response id
	order   list.List                // of *stored, oldest first
	size    int64
}

// stored is one kept response.
type stored struct {
	id, caller string
	expires    time.Time
	// response is the Response as it was answered.
	response []byte
	// context is the items that came before the response's output: those
	// of the responses before it (their context and output), then its own
	// input, the last inputCount of them, each as input_items lists it.
	context    []json.RawMessage
	inputCount int
	// output is the response's output items.
	output []json.RawMessage
	size   int64
	// holder names the provider that served the response natively and
	// keeps it itself; the gateway keeps nothing else of it.
	holder string
}

// input is the response's own input items.
func (s *stored) input() []json.RawMessage { return s.context[len(s.context)-s.inputCount:] }

// conversation is every item up to and including the response's output,
// which a response that follows it continues.
func (s *stored) conversation() []json.RawMessage {
	return append(append(make([]json.RawMessage, 0, len(s.context)+len(s.output)), s.context...), s.output...)
}

// put keeps s, replacing nothing: response ids are unique. A response
// larger than the whole store is not kept.
func (st *Store) put(s *stored) {
	s.size = int64(len(s.response) + len(s.id) + len(s.holder))
	for _, it := range s.context {
		s.size += int64(len(it))
	}
	for _, it := range s.output {
		s.size += int64(len(it))
	}
	if s.size > st.MaxBytes {
		return
	}
	now := time.Now()
	s.expires = now.Add(st.TTL)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.entries == nil {
		st.entries = make(map[string]*list.Element)
	}
	for e := st.order.Front(); e != nil && (st.size+s.size > st.MaxBytes || e.Value.(*stored).expires.Before(now)); e = st.order.Front() {
		st.remove(e)
	}
	st.entries[s.id] = st.order.PushBack(s)
	st.size += s.size
}

// get returns the caller's response id, unless it has expired.
func (st *Store) get(caller, id string) (*stored, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.entries[id]
	if !ok {
		return nil, false
	}
	s := e.Value.(*stored)
	if s.expires.Before(time.Now()) {
		st.remove(e)
		return nil, false
	}
	if s.caller != caller {
		return nil, false
	}
	return s, true
}

// delete drops the caller's response id and reports whether it was kept.
func (st *Store) delete(caller, id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.entries[id]
	if !ok || e.Value.(*stored).caller != caller {
		return false
	}
	st.remove(e)
	return true
}

// remove drops an entry; st.mu is held.
func (st *Store) remove(e *list.Element) {
	s := st.order.Remove(e).(*stored)
	delete(st.entries, s.id)
	st.size -= s.size
}
