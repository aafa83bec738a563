package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/problem"
)

// Idempotent returns the reply stored for an idempotency key, if any:
// found is false for a new key. A key used by another person or for
// another route is ErrConflict.
func (s *Store) Idempotent(ctx context.Context, key, actor, route string) (status int, reply []byte, found bool, err error) {
	var a, rt, body string
	err = s.r.QueryRowContext(ctx, `SELECT actor, route, status, reply FROM idempotency WHERE key = ?`, key).Scan(&a, &rt, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("store: idempotency: %w", err)
	}
	if a != actor || rt != route {
		return 0, nil, false, problem.Public(ErrConflict, "idempotency key %q was used for another call", key)
	}
	return status, []byte(body), true, nil
}

// RememberReply keeps a call's reply under its idempotency key; the first
// reply kept wins.
func (s *Store) RememberReply(ctx context.Context, key, actor, route string, status int, reply []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO idempotency (key, actor, route, status, reply, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, key, actor, route, status, string(reply), ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}
