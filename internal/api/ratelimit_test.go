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
		if ok, _ := l.allow("t1", now); ok {
			n++
		}
	}
	if n != 20 {
		t.Errorf("a burst of 50 calls: %d allowed, want 20", n)
	}
	ok, wait := l.allow("t1", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Errorf("an empty bucket: allowed %v, wait %s", ok, wait)
	}
	if ok, _ := l.allow("t2", now); !ok {
		t.Errorf("another token was held back")
	}
	if ok, _ := l.allow("t1", now.Add(150*time.Millisecond)); !ok {
		t.Errorf("after refilling for 150 ms (1.5 calls) the call was refused")
	}
}
