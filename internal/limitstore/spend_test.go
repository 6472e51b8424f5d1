package limitstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
)

// exercise runs the same checks against any store: all-or-none
// reservations under concurrency, settlements past the limit, reads.
func exercise(t *testing.T, stores ...*Store) {
	ctx := context.Background()
	ends := time.Now().Add(time.Hour)
	team := Account{Key: "spend:test:team", Limit: 10, Ends: ends}
	member := Account{Key: "spend:test:member", Limit: 100, Ends: ends}

	// 40 reservations of 1 race for a team limit of 10, spread over every
	// store given (several gateway instances on one Redis).
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			over, _, err := stores[i%len(stores)].Reserve(ctx, []Account{member, team}, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if over == -1 {
				granted.Add(1)
			} else if over != 1 {
				t.Errorf("refused by account %d, want the team's (1)", over)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 10 {
		t.Errorf("%d reservations granted, want exactly 10", granted.Load())
	}
	// A refused reservation took nothing from the member's account.
	for _, a := range []Account{team, member} {
		if v, err := stores[0].Spent(ctx, a.Key); err != nil || v != 10 {
			t.Errorf("%s spent %d, %v; want 10", a.Key, v, err)
		}
	}
	over, spent, err := stores[0].Reserve(ctx, []Account{member, team}, 1)
	if err != nil || over != 1 || spent != 10 {
		t.Errorf("reserve on a spent budget = %d %v %v, want refused by the team, at 10", over, spent, err)
	}
	// Settlements go past the limit (what was spent was spent) and give back.
	if err := stores[0].Spend(ctx, []Account{team}, 5); err != nil {
		t.Fatal(err)
	}
	if v, _ := stores[len(stores)-1].Spent(ctx, team.Key); v != 15 {
		t.Errorf("after spending 5 more: %d, want 15", v)
	}
	if err := stores[0].Spend(ctx, []Account{team}, -12); err != nil {
		t.Fatal(err)
	}
	over, _, err = stores[len(stores)-1].Reserve(ctx, []Account{team}, 7)
	if err != nil || over != -1 {
		t.Errorf("reserve 7 on 3 spent of 10 = %d %v, want granted", over, err)
	}
	if v, _ := stores[0].Spent(ctx, team.Key); v != 10 {
		t.Errorf("after it: %d, want 10", v)
	}
	if v, err := stores[0].Spent(ctx, "spend:test:nobody"); err != nil || v != 0 {
		t.Errorf("an account never used spent %d, %v", v, err)
	}
}

func TestSpendInMemory(t *testing.T) {
	exercise(t, NewMemory())
}

func TestSpendInRedisSharedByInstances(t *testing.T) {
	srv := redistest.Start(t)
	var stores []*Store
	for range 2 {
		s, err := NewRedis(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Destruct() })
		stores = append(stores, s)
	}
	exercise(t, stores...)
	// The counter ends with its period (and a grace for late settlements).
	if ttl := srv.Do(t, "PTTL", keyPrefix+"spend:test:team"); ttl == "-1" || ttl == "-2" {
		t.Errorf("PTTL = %s, want an expiry", ttl)
	}
}

func TestSpendEndsWithItsPeriod(t *testing.T) {
	b := &spendBook{accounts: make(map[string]*spent)}
	now := time.Now()
	a := Account{Key: "k", Limit: 5, Ends: now}
	if over, _ := b.reserve([]Account{a}, 5, now); over != -1 {
		t.Fatal("the first reservation was refused")
	}
	if over, _ := b.reserve([]Account{a}, 1, now); over != 0 {
		t.Fatal("a full account took more")
	}
	later := now.Add(accountGrace + time.Second)
	if v := b.read("k", later); v != 0 {
		t.Errorf("after its period and grace the account holds %d, want 0", v)
	}
	if over, _ := b.reserve([]Account{{Key: "k", Limit: 5, Ends: later.Add(time.Hour)}}, 5, later); over != -1 {
		t.Error("a new period's reservation was refused")
	}
}

func TestSpendFailsFastWhileRedisIsAway(t *testing.T) {
	srv := redistest.Start(t)
	s, err := NewRedis(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Destruct() })
	srv.Stop(t)
	acc := []Account{{Key: "spend:test:x", Limit: 10, Ends: time.Now().Add(time.Hour)}}
	if _, _, err := s.Reserve(context.Background(), acc, 1); err == nil {
		t.Fatal("a reservation on a stopped Redis succeeded")
	}
	// Not asked again for a second: requests are not held up by it.
	if _, _, err := s.Reserve(context.Background(), acc, 1); err != errStoreDown {
		t.Errorf("second try: %v, want the store skipped", err)
	}
}
