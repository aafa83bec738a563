package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Five failures in the window hold a key back until the oldest ages out;
// another key is not held; a sign-in forgets the key's failures; keys rest
// hashed.
func TestSigninLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	st := storetest.Open(t, store.Options{Now: clk.now})
	l := auth.SigninLimiter{Store: st}
	wait := func(key string) time.Duration {
		t.Helper()
		d, err := l.Wait(ctx, key, 5)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 5 {
		if d := wait("login:asha"); d != 0 {
			t.Fatalf("before failure %d: wait %v", i+1, d)
		}
		if err := l.Fail(ctx, "login:asha", "ip:10.0.0.7"); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute)
	}
	// The first failure was five minutes ago: ten more to go.
	if d := wait("login:asha"); d != 10*time.Minute {
		t.Fatalf("after five failures: wait %v, want 10m", d)
	}
	if d := wait("login:ravi"); d != 0 {
		t.Fatalf("another login: wait %v", d)
	}
	clk.add(10 * time.Minute)
	if d := wait("login:asha"); d != 0 {
		t.Fatalf("once the first failure aged out: wait %v", d)
	}
	if err := l.Forget(ctx, "ip:10.0.0.7"); err != nil {
		t.Fatal(err)
	}
	var plain int
	st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM signin_failures WHERE key LIKE '%asha%' OR key LIKE '%10.0.0%'`).Scan(&plain)
	if plain != 0 {
		t.Fatalf("%d rows hold a login or an address in plain", plain)
	}
}
