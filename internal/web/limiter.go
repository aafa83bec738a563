package web

import (
	"sync"
	"time"
)

// limiter counts failed sign-ins by login and by address. Past the limit a
// key is refused until its oldest failure in the window ages out: a PIN of
// four to six digits must not be guessable by trying.
type limiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

const (
	signinWindow   = 15 * time.Minute
	loginFailures  = 5  // per login in the window
	clientFailures = 20 // per address in the window (a center's PCs share one)
)

func newLimiter() *limiter { return &limiter{failures: map[string][]time.Time{}, now: time.Now} }

// wait says how long key must wait before another try, 0 if it may try.
func (l *limiter) wait(key string, limit int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.prune(key)
	if len(recent) < limit {
		return 0
	}
	return recent[len(recent)-limit].Add(signinWindow).Sub(l.now())
}

// fail records a failed try.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.failures[k] = append(l.prune(k), l.now())
	}
	// Keys whose failures have all aged out go, so the map stays small.
	if len(l.failures) > 10_000 {
		for k := range l.failures {
			if len(l.prune(k)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// forget clears a login's failures after it signs in.
func (l *limiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *limiter) prune(key string) []time.Time {
	cut := l.now().Add(-signinWindow)
	ts := l.failures[key]
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.failures, key)
	} else {
		l.failures[key] = ts
	}
	return ts
}
