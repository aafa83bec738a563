package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"banyan/internal/store"
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

// Wait says how long key must wait before another try at most limit
// failures in the window allow; 0 if it may try now.
func (l SigninLimiter) Wait(ctx context.Context, key string, limit int) (time.Duration, error) {
	now := l.Store.Now()
	rows, err := l.Store.Read(ctx).QueryContext(ctx, `SELECT at FROM signin_failures WHERE key = ? AND at > ?
		ORDER BY at DESC LIMIT ?`, limiterKey(key), store.TimeText(now.Add(-SigninWindow)), limit)
	if err != nil {
		return 0, fmt.Errorf("auth: sign-in limit: %w", err)
	}
	recent, err := store.Collect(rows, func(r store.Scanner) (time.Time, error) {
		var at string
		err := r.Scan(&at)
		return store.ParseTimeText(at), err
	})
	if err != nil || len(recent) < limit {
		return 0, err
	}
	return max(recent[limit-1].Add(SigninWindow).Sub(now), time.Second), nil
}

// Fail records a failed try against every key, and forgets failures that
// have aged out.
func (l SigninLimiter) Fail(ctx context.Context, keys ...string) error {
	now := l.Store.Now()
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (key, at) VALUES (?, ?)`, limiterKey(k), store.TimeText(now)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE at <= ?`, store.TimeText(now.Add(-SigninWindow)))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: sign-in failure: %w", err)
	}
	return nil
}

// Forget clears a key's failures (a login that has just signed in).
func (l SigninLimiter) Forget(ctx context.Context, key string) error {
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = ?`, limiterKey(key))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: sign-in limit: %w", err)
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
