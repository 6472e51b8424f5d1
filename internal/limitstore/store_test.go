package limitstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

func TestFailingStoreIsSkippedForASecond(t *testing.T) {
	attempts := 0
	s := &Store{connect: func() (limiter.Store, error) {
		attempts++
		return nil, errors.New("connection refused")
	}}
	for range 5 {
		if _, err := s.Add(context.Background(), "k", 1, 1, time.Minute); err == nil {
			t.Fatal("a failing store answered")
		}
	}
	if attempts != 1 {
		t.Errorf("the store was tried %d times within a second, want once", attempts)
	}
}
