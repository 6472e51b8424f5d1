package responses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// redisKeyPrefix namespaces kept responses among the gateway's keys.
const redisKeyPrefix = "llm_gateway:response:"

// sharedEntry is a kept response as it is written to Redis.
type sharedEntry struct {
	Caller     string            `json:"caller"`
	Holder     string            `json:"holder,omitempty"`
	Response   json.RawMessage   `json:"response,omitempty"`
	Context    []json.RawMessage `json:"context,omitempty"`
	InputCount int               `json:"input_count,omitempty"`
	Output     []json.RawMessage `json:"output,omitempty"`
}

// putShared writes s to Redis, to expire after TTL. A failure is logged:
// the response has been answered already.
func (st *Store) putShared(s *stored) {
	entry, err := json.Marshal(sharedEntry{Caller: s.caller, Holder: s.holder, Response: s.response,
		Context: s.context, InputCount: s.inputCount, Output: s.output})
	if err == nil {
		err = st.Redis.Set(context.Background(), redisKeyPrefix+s.id, entry, st.TTL).Err()
	}
	if err != nil && st.Logger != nil {
		st.Logger.Warn("a response could not be kept in the response store", zap.String("id", s.id), zap.Error(err))
	}
}

// getShared reads the caller's response id from Redis.
func (st *Store) getShared(caller, id string) (*stored, error) {
	raw, err := st.Redis.Get(context.Background(), redisKeyPrefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading response %s from the response store: %w", id, err)
	}
	var e sharedEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("response %s in the response store: %w", id, err)
	}
	if e.Caller != caller {
		return nil, nil
	}
	return &stored{id: id, caller: e.Caller, holder: e.Holder, response: e.Response,
		context: e.Context, inputCount: e.InputCount, output: e.Output}, nil
}

// deleteShared drops the caller's response id from Redis.
func (st *Store) deleteShared(caller, id string) error {
	s, err := st.getShared(caller, id)
	if err != nil || s == nil {
		return err
	}
	if err := st.Redis.Del(context.Background(), redisKeyPrefix+id).Err(); err != nil {
		return fmt.Errorf("deleting response %s from the response store: %w", id, err)
	}
	return nil
}
