package answercache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory keeps answers in this process, at most MaxBytes of them (their
// keys and answers counted), dropping the least recently used first.
type Memory struct {
	TTL      time.Duration
	MaxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element
	order   list.List // of *memoryEntry, most recently used first
	size    int64
}

type memoryEntry struct {
	key     string
	entry   Entry
	expires time.Time
}

func (e *memoryEntry) size() int64 { return int64(len(e.key) + len(e.entry.Answer)) }

// Get returns the entry under key, unless it has expired.
func (m *Memory) Get(_ context.Context, key string) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return Entry{}, false, nil
	}
	e := el.Value.(*memoryEntry)
	if !time.Now().Before(e.expires) {
		m.remove(el)
		return Entry{}, false, nil
	}
	m.order.MoveToFront(el)
	return e.entry, true, nil
}

// Put keeps e under key, dropping the least recently used answers until
// all fit. An answer larger than MaxBytes is not kept.
func (m *Memory) Put(_ context.Context, key string, e Entry) error {
	me := &memoryEntry{key: key, entry: e, expires: e.Stored.Add(m.TTL)}
	if me.size() > m.MaxBytes {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]*list.Element)
	}
	if old, ok := m.entries[key]; ok {
		m.remove(old)
	}
	for m.size+me.size() > m.MaxBytes {
		m.remove(m.order.Back())
	}
	m.entries[key] = m.order.PushFront(me)
	m.size += me.size()
	return nil
}

// Len is the number of answers kept, expired ones not yet dropped
// included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

func (m *Memory) remove(el *list.Element) {
	e := m.order.Remove(el).(*memoryEntry)
	delete(m.entries, e.key)
	m.size -= e.size()
}

// Interface guards
var _ Store = (*Memory)(nil)
