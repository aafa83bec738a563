package api

import (
	"sync"
	"time"
)

// tokenLimiter caps how fast one API token may call: a token bucket per
// token, refilled at rate a second up to burst. A leaked or runaway token
// cannot crowd out everyone else. With several hubs on one database each
// enforces its share (rate and burst divided by the hubs alive), so a
// token calling all of them gets the rate in all.
type tokenLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Default per-token limits: far above what a worker's desk or a client's
// script needs.
const (
	defaultTokenRate  = 200
	defaultTokenBurst = 400
)

func newTokenLimiter(rate, burst float64) *tokenLimiter {
	return &tokenLimiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// allow takes one call from the token's bucket, or says how long to wait;
// hubs is how many hubs share the limit (at least 1).
func (l *tokenLimiter) allow(token string, now time.Time, hubs int) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	share := float64(max(hubs, 1))
	rate, burst := l.rate/share, max(l.burst/share, 1)
	b, ok := l.buckets[token]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.buckets = map[string]*bucket{} // forget idle tokens wholesale
		}
		b = &bucket{tokens: burst, at: now}
		l.buckets[token] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}
