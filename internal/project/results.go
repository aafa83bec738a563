package project

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/work"
)

// The events clients may subscribe to are told to the store's Notifier —
// on the hub, the webhook package's queue — inside the transaction that
// causes them: a result settling, a batch completing, a cancelled batch's
// tasks failing. Each event's body is built here from the project's rows;
// the subscriptions and deliveries are the webhook package's.

// ResultReady tells the client's webhooks of a settled task's result
// (result.ready; not for gold), inside the transaction that settled it.
func ResultReady(ctx context.Context, st *store.Store, tx *store.Tx, taskID string, result work.Answer, confidence float64) error {
	const event = "result.ready"
	return st.Notify(ctx, tx, event, func() (string, any, bool, error) {
		var clientID, projectID, batchID, external string
		err := tx.QueryRowContext(ctx, `SELECT p.client_id, t.project_id, t.batch_id, coalesce(t.external_id, '') FROM tasks t
			JOIN projects p ON p.id = t.project_id WHERE t.id = ? AND t.gold = 0`, taskID).Scan(&clientID, &projectID, &batchID, &external)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, false, nil
		}
		return clientID, map[string]any{"event": event, "task_id": taskID, "external_id": external, "project_id": projectID,
			"batch_id": batchID, "answer": result, "confidence": confidence}, err == nil, err
	})
}

// TasksFailed tells the client's webhooks of each failed task of a
// cancelled batch (task.failed), inside the transaction that cancelled
// it.
func TasksFailed(ctx context.Context, st *store.Store, tx *store.Tx, batchID string) error {
	const event = "task.failed"
	rows, err := tx.QueryContext(ctx, `SELECT t.id, p.client_id, t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id
		WHERE t.batch_id = ? AND t.state = 'failed' AND t.gold = 0`, batchID)
	if err != nil {
		return err
	}
	type failed struct{ task, client, project string }
	list, err := store.Collect(rows, func(r store.Scanner) (failed, error) {
		var f failed
		return f, r.Scan(&f.task, &f.client, &f.project)
	})
	if err != nil {
		return err
	}
	for _, f := range list {
		if err := st.Notify(ctx, tx, event, func() (string, any, bool, error) {
			return f.client, map[string]any{"event": event, "task_id": f.task, "project_id": f.project, "batch_id": batchID,
				"reason": "the batch was cancelled"}, true, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// RejectResult is a client's rejection of a delivered result: the task
// goes back for rework by other workers (those who answered it keep their
// pay), and the client is credited what the rejected delivery cost. The
// next delivery is charged anew.
func RejectResult(ctx context.Context, st *store.Store, taskID, by, reason string) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		var state, answer string
		var overlap, answers int
		// The task's row is locked first, on its own: PostgreSQL locks no
		// row on the nullable side of an outer join (the result).
		err := tx.QueryRowContext(ctx, `SELECT t.state, t.answers FROM tasks t WHERE t.id = ?`+tx.ForUpdate(), taskID).Scan(&state, &answers)
		if err == nil {
			err = tx.QueryRowContext(ctx, `SELECT coalesce(r.answer, ''), p.overlap FROM tasks t JOIN projects p ON p.id = t.project_id
				LEFT JOIN results r ON r.task_id = t.id WHERE t.id = ?`, taskID).Scan(&answer, &overlap)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %s: %w", taskID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state != "done" || answer == "" {
			return problem.Public(store.ErrConflict, "task %s has no delivered result to reject (it is %s)", taskID, state)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM result_rejections WHERE task_id = ?`, taskID).Scan(&n); err != nil {
			return err
		}
		now := store.TimeText(st.Now())
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
		return fmt.Errorf("project: reject result: %w", err)
	}
	return nil
}
