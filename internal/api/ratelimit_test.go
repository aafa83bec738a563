package api

import (
	"testing"
	"time"
)

func TestTokenLimiter(t *testing.T) {
	l := newTokenLimiter(10, 20)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	n := 0
	for range 50 {
		if ok, _ := l.allow("t1", now, 1); ok {
			n++
		}
	}
	if n != 20 {
		t.Errorf("a burst of 50 calls: %d allowed, want 20", n)
	}
	ok, wait := l.allow("t1", now, 1)
	if ok || wait <= 0 || wait > time.Second {
		t.Errorf("an empty bucket: allowed %v, wait %s", ok, wait)
	}
	if ok, _ := l.allow("t2", now, 1); !ok {
		t.Errorf("another token was held back")
	}
	if ok, _ := l.allow("t1", now.Add(150*time.Millisecond), 1); !ok {
		t.Errorf("after refilling for 150 ms (1.5 calls) the call was refused")
	}
}

// With two hubs alive each enforces half the limit, so a token that calls
// both gets the burst and the rate in all, not twice over.
func TestTokenLimiterShared(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	hubs := []*tokenLimiter{newTokenLimiter(10, 20), newTokenLimiter(10, 20)}
	n := 0
	for i := range 50 {
		if ok, _ := hubs[i%2].allow("t1", now, 2); ok {
			n++
		}
	}
	if n != 20 {
		t.Errorf("a burst of 50 calls across two hubs: %d allowed, want 20 in all", n)
	}
	// A second later each hub has refilled 5 calls.
	n = 0
	for i := range 50 {
		if ok, _ := hubs[i%2].allow("t1", now.Add(time.Second), 2); ok {
			n++
		}
	}
	if n != 10 {
		t.Errorf("a second later: %d allowed, want 10 (the rate of 10 a second in all)", n)
	}
}
