package responses

import (
	"container/list"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Store keeps the responses made with `store` (OpenAI's default) for
// `previous_response_id`, `GET /v1/responses/{id}`, its input items and
// `DELETE`, each for the caller who made it, in this instance's memory or
// in Redis. In memory it holds at most MaxBytes of responses, dropping
// the oldest first; it forgets each after TTL. Its settings come ready
// for use: the root module owns their defaults.
type Store struct {
	// TTL is how long a response is kept.
	TTL time.Duration
	// MaxBytes bounds the size of the responses and items kept in memory,
	// or of each one kept in Redis, whose own maxmemory bounds them all.
	MaxBytes int64
	// Redis, when set, keeps the responses in Redis instead of this
	// process's memory, for every gateway instance that uses the same
	// Redis.
	Redis *redis.Client
	// Logger receives the failures to keep a response; nil for none.
	Logger *zap.Logger

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
	if st.Redis != nil {
		st.putShared(s)
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

// get returns the caller's response id, unless it has expired; nil when
// the caller has none of that id. An error says the store failed.
func (st *Store) get(caller, id string) (*stored, error) {
	if st.Redis != nil {
		return st.getShared(caller, id)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.entries[id]
	if !ok {
		return nil, nil
	}
	s := e.Value.(*stored)
	if s.expires.Before(time.Now()) {
		st.remove(e)
		return nil, nil
	}
	if s.caller != caller {
		return nil, nil
	}
	return s, nil
}

// delete drops the caller's response id.
func (st *Store) delete(caller, id string) error {
	if st.Redis != nil {
		return st.deleteShared(caller, id)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.entries[id]
	if ok && e.Value.(*stored).caller == caller {
		st.remove(e)
	}
	return nil
}

// remove drops an entry; st.mu is held.
func (st *Store) remove(e *list.Element) {
	s := st.order.Remove(e).(*stored)
	delete(st.entries, s.id)
	st.size -= s.size
}

// storeFailed logs a failure of the response store and is the client's
// answer to it: 503, as the store may be back soon.
func storeFailed(hub inbound.Hub, w http.ResponseWriter, err error) *providers.Error {
	hub.Logger().Error("the response store failed", zap.String("request_id", w.Header().Get("X-Request-Id")), zap.Error(err))
	return providers.NewError(http.StatusServiceUnavailable, "response_store_unavailable",
		"the gateway's response store is unavailable; try again shortly")
}
