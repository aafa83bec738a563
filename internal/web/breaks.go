package web

import (
	"sync"
	"time"
)

// breaks tracks each signed-in browser's stretch of work, for the
// reminder to take a break: moderation work wears on people, and a shared
// PC in a village center has no one else to say so. A stretch is task
// pages shown less than breakGap apart; a longer gap was a break.
type breaks struct {
	mu      sync.Mutex
	stretch map[string]stretch
}

type stretch struct {
	start, last time.Time
	// graphic counts the disturbing items answered in the session.
	graphic int
}

const (
	breakAfter = 50 * time.Minute // remind after this long without a break
	breakGap   = 5 * time.Minute  // a gap this long between tasks was a break
)

// graphic adds n to the session's count of disturbing items answered and
// returns the count. The count lives as long as the process: a restart
// starts every shift's count again.
func (b *breaks) graphic(session string, n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stretch[session]
	st.graphic += n
	b.stretch[session] = st
	return st.graphic
}

func newBreaks() *breaks { return &breaks{stretch: map[string]stretch{}} }

// working notes a task shown to a session at now and returns how long its
// stretch has lasted.
func (b *breaks) working(session string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.stretch[session]
	if !ok || st.last.IsZero() || now.Sub(st.last) >= breakGap {
		st.start = now
	}
	st.last = now
	b.stretch[session] = st
	if len(b.stretch) > 10_000 {
		for k, v := range b.stretch {
			if now.Sub(v.last) >= 24*time.Hour {
				delete(b.stretch, k)
			}
		}
	}
	return now.Sub(st.start)
}
