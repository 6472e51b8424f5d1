// Package answercache is what the pipeline knows of the stores of cached
// answers: Store, and Memory, which keeps them in this process's memory,
// bounded in size with the least recently used answer dropped first.
// Package rediscache keeps them in Redis instead. Both forget an answer
// after their TTL.
package answercache

import (
	"context"
	"time"
)

// Entry is one cached answer.
type Entry struct {
	// Answer is the answer as the gateway keeps it (see the handler's
	// cache).
	Answer []byte
	// Stored is when the answer was stored, for the Age of a hit.
	Stored time.Time
}

// Store keeps answers by key. Its calls are safe for concurrent use.
type Store interface {
	// Get returns the entry under key, and whether there is one.
	Get(ctx context.Context, key string) (Entry, bool, error)
	// Put keeps e under key, replacing any entry there.
	Put(ctx context.Context, key string, e Entry) error
}
