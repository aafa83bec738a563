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

// RejectResult is a client's rejection of a delivered result: the task
// goes back for rework by other workers (those who answered it keep their
// pay), and the client is credited what the rejected delivery cost. The
// next delivery is charged anew.
func (s *Store) RejectResult(ctx context.Context, taskID, by, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state, answer string
		var overlap, answers int
		// The task's row is locked first, on its own: PostgreSQL locks no
		// row on the nullable side of an outer join (the result).
		err := tx.QueryRowContext(ctx, `SELECT t.state, t.answers FROM tasks t WHERE t.id = ?`+s.d.forUpdate(), taskID).Scan(&state, &answers)
		if err == nil {
			err = tx.QueryRowContext(ctx, `SELECT coalesce(r.answer, ''), p.overlap FROM tasks t JOIN projects p ON p.id = t.project_id
				LEFT JOIN results r ON r.task_id = t.id WHERE t.id = ?`, taskID).Scan(&answer, &overlap)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %s: %w", taskID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state != "done" || answer == "" {
			return problem.Public(ErrConflict, "task %s has no delivered result to reject (it is %s)", taskID, state)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM result_rejections WHERE task_id = ?`, taskID).Scan(&n); err != nil {
			return err
		}
		now := ts(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO result_rejections (task_id, n, reason, rejected_by, answer, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, taskID, n, reason, by, answer, now); err != nil {
			return err
		}
		// The credit: what this delivery was charged, if anything.
		if _, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, task_id, project_id, client_id, currency, client_price, gst_bps, created_at)
			SELECT CAST(? AS TEXT) || ':credit:' || e.ref, 'credit', e.ref, e.task_id, e.project_id, e.client_id, e.currency, e.client_price, e.gst_bps, ?
			FROM money_events e WHERE e.kind = 'delivery' AND e.ref = ?
			ON CONFLICT (kind, ref) DO NOTHING`, now, now, fmt.Sprintf("%s:%d", taskID, n)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM results WHERE task_id = ?`, taskID); err != nil {
			return err
		}
		// Back to the pool for as many fresh answers as the project's
		// overlap; the workers who answered it are not offered it again.
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'open', wanted = ?, review_reason = NULL, proposed = NULL, updated_at = ?
			WHERE id = ?`, answers+overlap, now, taskID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE batches SET completed_at = NULL WHERE id = (SELECT batch_id FROM tasks WHERE id = ?)`, taskID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: reject result: %w", err)
	}
	return nil
}
