package limitstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Account is one budget's spend in one period: a counter of nanodollars
// that may not pass Limit, dropped once its period has ended.
type Account struct {
	// Key names the counter: the budget's scope and the period's start.
	Key string
	// Limit is the most the counter may hold.
	Limit int64
	// Ends is when the period ends.
	Ends time.Time
}

// MaxSpend is the largest counter value kept exactly: Redis scripts
// compute in doubles.
const MaxSpend = 1 << 53

// accountGrace keeps a counter a while after its period, for a settlement
// of a call that began in it.
const accountGrace = time.Hour

// spendBook holds the spend counters of a memory store.
type spendBook struct {
	mu        sync.Mutex
	accounts  map[string]*spent
	nextSweep time.Time
}

type spent struct {
	value   int64
	expires time.Time
}

// Reserve adds n to every account if each stays within its limit after
// it, all or none, in one step: no two reservations can both take the
// last of a budget. over is the index of the first account n does not
// fit in, or -1 when it fitted, and spent is that account's spend as it
// stood.
func (s *Store) Reserve(ctx context.Context, accounts []Account, n int64) (over int, spent int64, err error) {
	if len(accounts) == 0 {
		return -1, 0, nil
	}
	if s.redis == nil {
		over, spent = s.book().reserve(accounts, n, time.Now())
		return over, spent, nil
	}
	if err := s.up(); err != nil {
		return -1, 0, err
	}
	res, err := reserveScript.Run(ctx, s.redis, keysOf(accounts), scriptArgs(accounts, n, true)...).Int64Slice()
	if err = s.noteResult(err); err != nil {
		return -1, 0, fmt.Errorf("reserving budget: %w", err)
	}
	return int(res[0]) - 1, res[1], nil
}

// Spend adds n to every account, past its limit if need be: a settlement
// of what a call really cost (n < 0 gives back the unused part of its
// reservation).
func (s *Store) Spend(ctx context.Context, accounts []Account, n int64) error {
	if len(accounts) == 0 || n == 0 {
		return nil
	}
	if s.redis == nil {
		s.book().spend(accounts, n, time.Now())
		return nil
	}
	if err := s.up(); err != nil {
		return err
	}
	err := spendScript.Run(ctx, s.redis, keysOf(accounts), scriptArgs(accounts, n, false)...).Err()
	if err = s.noteResult(err); err != nil {
		return fmt.Errorf("settling budget: %w", err)
	}
	return nil
}

// Spent reads an account's counter: 0 when nothing was spent.
func (s *Store) Spent(ctx context.Context, key string) (int64, error) {
	if s.redis == nil {
		return s.book().read(key, time.Now()), nil
	}
	if err := s.up(); err != nil {
		return 0, err
	}
	v, err := s.redis.Get(ctx, keyPrefix+key).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, s.noteResult(nil)
	}
	if err = s.noteResult(err); err != nil {
		return 0, fmt.Errorf("reading budget: %w", err)
	}
	return v, nil
}

// up fails fast while the store is known to be away.
func (s *Store) up() error {
	if until := s.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return errStoreDown
	}
	return nil
}

// noteResult marks the store away for a second after a failure.
func (s *Store) noteResult(err error) error {
	if err != nil {
		s.downUntil.Store(time.Now().Add(time.Second).UnixNano())
		return err
	}
	s.downUntil.Store(0)
	return nil
}

func (s *Store) book() *spendBook {
	s.spendOnce.Do(func() { s.spend = &spendBook{accounts: make(map[string]*spent)} })
	return s.spend
}

func (b *spendBook) reserve(accounts []Account, n int64, now time.Time) (over int, spent int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, a := range accounts {
		if v := b.value(a.Key, now); v+n > a.Limit {
			return i, v
		}
	}
	for _, a := range accounts {
		b.add(a, n, now)
	}
	return -1, 0
}

func (b *spendBook) spend(accounts []Account, n int64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range accounts {
		b.add(a, n, now)
	}
}

func (b *spendBook) read(key string, now time.Time) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.value(key, now)
}

// value is an account's spend; b.mu is held.
func (b *spendBook) value(key string, now time.Time) int64 {
	if a, ok := b.accounts[key]; ok && now.Before(a.expires) {
		return a.value
	}
	return 0
}

// add adds n to an account, creating it; b.mu is held. Ended periods'
// accounts are swept at most once a minute.
func (b *spendBook) add(a Account, n int64, now time.Time) int64 {
	if now.After(b.nextSweep) {
		for k, v := range b.accounts {
			if !now.Before(v.expires) {
				delete(b.accounts, k)
			}
		}
		b.nextSweep = now.Add(time.Minute)
	}
	acc, ok := b.accounts[a.Key]
	if !ok || !now.Before(acc.expires) {
		acc = &spent{}
		b.accounts[a.Key] = acc
	}
	acc.expires = a.Ends.Add(accountGrace)
	acc.value = saturatingAdd(acc.value, n)
	return acc.value
}

func saturatingAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

func keysOf(accounts []Account) []string {
	keys := make([]string, len(accounts))
	for i, a := range accounts {
		keys[i] = keyPrefix + a.Key
	}
	return keys
}

// scriptArgs are n, then each account's expiry in Unix milliseconds and,
// for a reservation, its limit.
func scriptArgs(accounts []Account, n int64, limits bool) []any {
	args := make([]any, 0, 1+2*len(accounts))
	args = append(args, strconv.FormatInt(n, 10))
	for _, a := range accounts {
		args = append(args, strconv.FormatInt(a.Ends.Add(accountGrace).UnixMilli(), 10))
		if limits {
			args = append(args, strconv.FormatInt(a.Limit, 10))
		}
	}
	return args
}

// reserveScript: all of KEYS take ARGV[1] if each stays within its limit,
// or none does. It returns the 1-based index of the first that would not
// and its value, or {0, 0} when all did.
var reserveScript = redis.NewScript(`
local n = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
	local v = tonumber(redis.call('GET', key) or '0')
	if v + n > tonumber(ARGV[2 * i + 1]) then
		return {i, v}
	end
end
for i, key in ipairs(KEYS) do
	redis.call('INCRBY', key, n)
	redis.call('PEXPIREAT', key, ARGV[2 * i])
end
return {0, 0}
`)

// spendScript adds ARGV[1] to every one of KEYS.
var spendScript = redis.NewScript(`
for i, key in ipairs(KEYS) do
	redis.call('INCRBY', key, ARGV[1])
	redis.call('PEXPIREAT', key, ARGV[i + 1])
end
return 0
`)
