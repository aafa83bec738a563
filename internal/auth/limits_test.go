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

// Five failed tries in the window hold a key back until the oldest ages
// out; another key is not held; a try that signs in is not counted and
// clears its login's failures; keys rest hashed.
func TestSigninLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	st := storetest.Open(t, store.Options{Now: clk.now})
	l := auth.SigninLimiter{Store: st}
	try := func(login string) (string, time.Duration) {
		t.Helper()
		attempt, wait, err := l.Try(ctx, auth.Limit{Key: "login:" + login, Tries: 5}, auth.Limit{Key: "ip:10.0.0.7", Tries: 20})
		if err != nil {
			t.Fatal(err)
		}
		return attempt, wait
	}
	for i := range 5 {
		if a, wait := try("asha"); a == "" || wait != 0 {
			t.Fatalf("try %d: attempt %q, wait %v", i+1, a, wait)
		}
		clk.add(time.Minute)
	}
	// The first failure was five minutes ago: ten more to go.
	if a, wait := try("asha"); a != "" || wait != 10*time.Minute {
		t.Fatalf("after five failures: attempt %q, wait %v; want held back 10m", a, wait)
	}
	a, wait := try("ravi")
	if a == "" || wait != 0 {
		t.Fatalf("another login: attempt %q, wait %v", a, wait)
	}
	if err := l.Succeeded(ctx, a, "login:ravi"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM signin_failures WHERE attempt = ?`, a).Scan(&left); err != nil || left != 0 {
		t.Fatalf("a try that signed in: %d rows still counted (%v)", left, err)
	}
	clk.add(10 * time.Minute)
	if a, wait := try("asha"); a == "" || wait != 0 {
		t.Fatalf("once the first failure aged out: attempt %q, wait %v", a, wait)
	}
	var plain int
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM signin_failures WHERE key LIKE '%asha%' OR key LIKE '%10.0.0%'`).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if plain != 0 {
		t.Fatalf("%d rows hold a login or an address in plain", plain)
	}
}

// Tries sent all at once are counted one after the other: of thirty at
// once, five get to have their secret checked.
func TestSigninTriesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{})
	l := auth.SigninLimiter{Store: st}
	var mu sync.Mutex
	var wg sync.WaitGroup
	checked := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := l.Try(ctx, auth.Limit{Key: "login:asha", Tries: 5})
			if err != nil {
				t.Error(err)
				return
			}
			if a != "" {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if checked != 5 {
		t.Fatalf("%d of 30 tries at once got their secret checked, want 5", checked)
	}
}
