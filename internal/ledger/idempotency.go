package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/problem"
	"banyan/internal/store"
)

// Idempotent returns the reply kept for a money call's idempotency key,
// if any: found is false for a new key. A key used by another person or
// for another route is store.ErrConflict.
func Idempotent(ctx context.Context, st *store.Store, key, actor, route string) (status int, reply []byte, found bool, err error) {
	var a, rt, body string
	err = st.Read(ctx).QueryRowContext(ctx, `SELECT actor, route, status, reply FROM idempotency WHERE key = ?`, key).Scan(&a, &rt, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("ledger: idempotency: %w", err)
	}
	if a != actor || rt != route {
		return 0, nil, false, problem.Public(store.ErrConflict, "idempotency key %q was used for another call", key)
	}
	return status, []byte(body), true, nil
}

// RememberReply keeps a money call's reply under its idempotency key; the
// first reply kept wins.
func RememberReply(ctx context.Context, st *store.Store, key, actor, route string, status int, reply []byte) error {
	_, err := st.Exec(ctx, `INSERT INTO idempotency (key, actor, route, status, reply, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, key, actor, route, status, string(reply), store.TimeText(st.Now()))
	if err != nil {
		return fmt.Errorf("ledger: idempotency: %w", err)
	}
	return nil
}
