package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"banyan/internal/store"
	"banyan/internal/work"
)

// Sign-in limits: failed sign-ins are counted in the database by login
// and by address, so every hub on one database counts them together. Past
// the limit a key is refused until its oldest failure in the window ages
// out: a PIN of four to six digits must not be guessable by trying, on one
// hub or across several.

// SigninWindow is how long a failed sign-in counts.
const SigninWindow = 15 * time.Minute

// SigninLimiter counts failed sign-ins in the store.
type SigninLimiter struct {
	Store *store.Store
}

// limiterKey is what is stored for a counted key: its SHA-256, so logins
// and addresses do not rest in the table in plain.
func limiterKey(key string) string {
	sum := sha256.Sum256([]byte("banyan signin\n" + key))
	return hex.EncodeToString(sum[:])
}

// Limit is a key to count sign-in tries by, and how many failures in the
// window it may have.
type Limit struct {
	Key   string
	Tries int
}

// Try counts a sign-in try against every limit before its secret is
// checked: in one transaction that takes each key in turn, so tries sent
// all at once are counted one after the other. If any key has had its
// tries in the window, nothing is counted and wait says how long until the
// oldest ages out. Otherwise the try counts as a failure until Succeeded
// clears it; attempt names it.
func (l SigninLimiter) Try(ctx context.Context, limits ...Limit) (attempt string, wait time.Duration, err error) {
	now := l.Store.Now()
	attempt = work.NewID()
	err = l.Store.Write(ctx, func(tx *store.Tx) error {
		for _, lim := range limits {
			if err := tx.Serialize(ctx, "signin:"+lim.Key); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT at FROM signin_failures WHERE key = ? AND at > ?
				ORDER BY at DESC LIMIT ?`, limiterKey(lim.Key), store.TimeText(now.Add(-SigninWindow)), lim.Tries)
			if err != nil {
				return err
			}
			recent, err := store.Collect(rows, func(r store.Scanner) (time.Time, error) {
				var at string
				err := r.Scan(&at)
				return store.ParseTimeText(at), err
			})
			if err != nil {
				return err
			}
			if len(recent) >= lim.Tries {
				wait = max(wait, recent[lim.Tries-1].Add(SigninWindow).Sub(now), time.Second)
			}
		}
		if wait > 0 {
			return nil
		}
		for _, lim := range limits {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (key, at, attempt) VALUES (?, ?, ?)`,
				limiterKey(lim.Key), store.TimeText(now), attempt); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE at <= ?`, store.TimeText(now.Add(-SigninWindow)))
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign-in try: %w", err)
	}
	if wait > 0 {
		return "", wait, nil
	}
	return attempt, 0, nil
}

// Succeeded uncounts a try that signed in, and forgets the earlier
// failures of forget (the login that has just proved its secret).
func (l SigninLimiter) Succeeded(ctx context.Context, attempt, forget string) error {
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE attempt = ?`, attempt); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = ?`, limiterKey(forget))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: sign-in: %w", err)
	}
	return nil
}

// HubHeartbeat says, every so often, that this hub process is alive; the
// per-token rate limit is shared among the hubs alive (LiveHubs).
func HubHeartbeat(ctx context.Context, st *store.Store, hubID string) error {
	now := store.TimeText(st.Now())
	err := st.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO hub_heartbeats (hub_id, seen_at) VALUES (?, ?)
			ON CONFLICT (hub_id) DO UPDATE SET seen_at = excluded.seen_at`, hubID, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM hub_heartbeats WHERE seen_at < ?`, store.TimeText(st.Now().Add(-time.Hour)))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: hub heartbeat: %w", err)
	}
	return nil
}

// LiveHubs counts the hub processes that said they were alive within the
// last `within`; at least 1.
func LiveHubs(ctx context.Context, st *store.Store, within time.Duration) (int, error) {
	var n int
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM hub_heartbeats WHERE seen_at > ?`,
		store.TimeText(st.Now().Add(-within))).Scan(&n)
	if err != nil {
		return 1, fmt.Errorf("auth: live hubs: %w", err)
	}
	return max(n, 1), nil
}
