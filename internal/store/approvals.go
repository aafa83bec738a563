package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/problem"
)

// Approval of answers: a settled task's counted answers are approved and
// paid at once, or, when the project's rate card says to wait, held until
// due and then approved unless a reviewer rejected them first. A
// rejection carries its reason and may be overturned within the rate
// card's window, which pays the answer after all.

// approveOrHold acts, in the settling transaction, on a task's counted
// answers.
func (s *Store) approveOrHold(ctx context.Context, tx *sql.Tx, taskID, now string) error {
	var wait int
	err := tx.QueryRowContext(ctx, `SELECT rc.approve_after_seconds FROM tasks t JOIN rate_cards rc ON rc.project_id = t.project_id
		WHERE t.id = ?`, taskID).Scan(&wait)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no prices: nothing to pay
	}
	if err != nil {
		return err
	}
	if wait == 0 {
		return payAnswers(ctx, tx, taskID, "", now)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO approvals (assignment_id, task_id, state, due_at)
		SELECT a.id, a.task_id, 'pending', ? FROM assignments a
		WHERE a.task_id = ? AND a.state = 'submitted' AND a.flag IS NULL
		ON CONFLICT (assignment_id) DO NOTHING`, ts(parseTS(now).Add(time.Duration(wait)*time.Second)), taskID)
	return err
}

// ApproveDue approves and pays up to limit held answers whose time has
// come, and returns how many.
func (s *Store) ApproveDue(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		rows, err := tx.QueryContext(ctx, `SELECT assignment_id, task_id FROM approvals WHERE state = 'pending' AND due_at <= ?
			ORDER BY due_at, assignment_id LIMIT ?`, now, limit)
		if err != nil {
			return err
		}
		type due struct{ id, task string }
		list, err := collect(rows, func(r scanner) (due, error) {
			var d due
			return d, r.Scan(&d.id, &d.task)
		})
		if err != nil {
			return err
		}
		for _, d := range list {
			res, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'approved', decided_by = 'auto', decided_at = ?
				WHERE assignment_id = ? AND state = 'pending'`, now, d.id)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue
			}
			if err := payAnswers(ctx, tx, d.task, d.id, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: approve due answers: %w", err)
	}
	return n, nil
}

// Approval is an answer's approval record.
type Approval struct {
	AssignmentID  string     `json:"assignment_id"`
	State         string     `json:"state"`
	DueAt         time.Time  `json:"due_at"`
	Reason        string     `json:"reason,omitempty"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	OverturnUntil *time.Time `json:"overturn_until,omitempty"`
}

func (s *Store) approval(ctx context.Context, q rowQuerier, id string) (Approval, error) {
	var a Approval
	var due string
	var decided, until sql.NullString
	err := q.QueryRowContext(ctx, `SELECT assignment_id, state, due_at, reason, decided_by, decided_at, overturn_until FROM approvals
		WHERE assignment_id = ?`, id).Scan(&a.AssignmentID, &a.State, &due, &a.Reason, &a.DecidedBy, &decided, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("no approval waits for answer %s: %w", id, ErrNotFound)
	}
	a.DueAt, a.DecidedAt, a.OverturnUntil = parseTS(due), parseNullTS(decided), parseNullTS(until)
	return a, err
}

// RejectAnswer rejects a held answer before it is approved: it is not paid.
func (s *Store) RejectAnswer(ctx context.Context, assignmentID, by, reason string) (Approval, error) {
	var out Approval
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.approval(ctx, tx, assignmentID)
		if err != nil {
			return err
		}
		if a.State != "pending" {
			return problem.Public(ErrConflict, "answer %s is already %s", assignmentID, a.State)
		}
		var window int
		if err := tx.QueryRowContext(ctx, `SELECT rc.overturn_seconds FROM assignments x JOIN rate_cards rc ON rc.project_id = x.project_id
			WHERE x.id = ?`, assignmentID).Scan(&window); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'rejected', reason = ?, decided_by = ?, decided_at = ?, overturn_until = ?
			WHERE assignment_id = ?`, reason, by, ts(now), ts(now.Add(time.Duration(window)*time.Second)), assignmentID); err != nil {
			return err
		}
		out, err = s.approval(ctx, tx, assignmentID)
		return err
	})
	if err != nil {
		return Approval{}, fmt.Errorf("store: reject answer: %w", err)
	}
	return out, nil
}

// OverturnRejection approves a rejected answer within its window, and
// pays it.
func (s *Store) OverturnRejection(ctx context.Context, assignmentID, by, reason string) (Approval, error) {
	var out Approval
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.approval(ctx, tx, assignmentID)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case a.State != "rejected":
			return problem.Public(ErrConflict, "answer %s is %s, not rejected", assignmentID, a.State)
		case a.OverturnUntil != nil && !now.Before(*a.OverturnUntil):
			return problem.Public(ErrConflict, "answer %s's rejection could be overturned until %s", assignmentID, a.OverturnUntil.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'approved', reason = ?, decided_by = ?, decided_at = ?
			WHERE assignment_id = ?`, reason, by, ts(now), assignmentID); err != nil {
			return err
		}
		var taskID string
		if err := tx.QueryRowContext(ctx, `SELECT task_id FROM approvals WHERE assignment_id = ?`, assignmentID).Scan(&taskID); err != nil {
			return err
		}
		if err := payAnswers(ctx, tx, taskID, assignmentID, ts(now)); err != nil {
			return err
		}
		out, err = s.approval(ctx, tx, assignmentID)
		return err
	})
	if err != nil {
		return Approval{}, fmt.Errorf("store: overturn rejection: %w", err)
	}
	return out, nil
}

// Bonus records a bonus to a worker, once per key.
func (s *Store) Bonus(ctx context.Context, workerID string, amount int64, key string) (created bool, err error) {
	now := ts(s.now())
	res, err := s.w.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, worker_id, currency, worker_pay, created_at)
		VALUES (?, 'bonus', ?, ?, 'INR', ?, ?) ON CONFLICT (kind, ref) DO NOTHING`, now+":bonus:"+key, key, workerID, amount, now)
	if err != nil {
		return false, fmt.Errorf("store: bonus: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

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
