package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/problem"
	"banyan/internal/store"
)

// Approval of answers: a settled task's counted answers are approved and
// paid at once, or, when the project's rate card says to wait, held until
// due and then approved unless a reviewer rejected them first (the hold is
// written by the settle path, ApproveOrHold). A rejection carries
// its reason and may be overturned within the rate card's window, which
// pays the answer after all.

// ApproveDue approves and pays up to limit held answers whose time has
// come, and returns how many.
func ApproveDue(ctx context.Context, st *store.Store, limit int) (int, error) {
	n := 0
	err := st.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(st.Now())
		rows, err := tx.QueryContext(ctx, `SELECT assignment_id, task_id FROM approvals WHERE state = 'pending' AND due_at <= ?
			ORDER BY due_at, assignment_id LIMIT ?`, now, limit)
		if err != nil {
			return err
		}
		type due struct{ id, task string }
		list, err := store.Collect(rows, func(r store.Scanner) (due, error) {
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
			if err := PayAnswers(ctx, tx, d.task, d.id, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: approve due answers: %w", err)
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

func approval(ctx context.Context, q *store.Tx, id string) (Approval, error) {
	var a Approval
	var due string
	var decided, until sql.NullString
	err := q.QueryRowContext(ctx, `SELECT assignment_id, state, due_at, reason, decided_by, decided_at, overturn_until FROM approvals
		WHERE assignment_id = ?`, id).Scan(&a.AssignmentID, &a.State, &due, &a.Reason, &a.DecidedBy, &decided, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("no approval waits for answer %s: %w", id, store.ErrNotFound)
	}
	a.DueAt, a.DecidedAt, a.OverturnUntil = store.ParseTimeText(due), store.ParseNullTimeText(decided), store.ParseNullTimeText(until)
	return a, err
}

// RejectAnswer rejects a held answer before it is approved: it is not paid.
func RejectAnswer(ctx context.Context, st *store.Store, assignmentID, by, reason string) (Approval, error) {
	var out Approval
	err := st.Write(ctx, func(tx *store.Tx) error {
		a, err := approval(ctx, tx, assignmentID)
		if err != nil {
			return err
		}
		if a.State != "pending" {
			return problem.Public(store.ErrConflict, "answer %s is already %s", assignmentID, a.State)
		}
		var window int
		if err := tx.QueryRowContext(ctx, `SELECT rc.overturn_seconds FROM assignments x JOIN rate_cards rc ON rc.project_id = x.project_id
			WHERE x.id = ?`, assignmentID).Scan(&window); err != nil {
			return err
		}
		now := st.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'rejected', reason = ?, decided_by = ?, decided_at = ?, overturn_until = ?
			WHERE assignment_id = ?`, reason, by, store.TimeText(now), store.TimeText(now.Add(time.Duration(window)*time.Second)), assignmentID); err != nil {
			return err
		}
		out, err = approval(ctx, tx, assignmentID)
		return err
	})
	if err != nil {
		return Approval{}, fmt.Errorf("ledger: reject answer: %w", err)
	}
	return out, nil
}

// OverturnRejection approves a rejected answer within its window, and
// pays it.
func OverturnRejection(ctx context.Context, st *store.Store, assignmentID, by, reason string) (Approval, error) {
	var out Approval
	err := st.Write(ctx, func(tx *store.Tx) error {
		a, err := approval(ctx, tx, assignmentID)
		if err != nil {
			return err
		}
		now := st.Now()
		switch {
		case a.State != "rejected":
			return problem.Public(store.ErrConflict, "answer %s is %s, not rejected", assignmentID, a.State)
		case a.OverturnUntil != nil && !now.Before(*a.OverturnUntil):
			return problem.Public(store.ErrConflict, "answer %s's rejection could be overturned until %s", assignmentID, a.OverturnUntil.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = 'approved', reason = ?, decided_by = ?, decided_at = ?
			WHERE assignment_id = ?`, reason, by, store.TimeText(now), assignmentID); err != nil {
			return err
		}
		var taskID string
		if err := tx.QueryRowContext(ctx, `SELECT task_id FROM approvals WHERE assignment_id = ?`, assignmentID).Scan(&taskID); err != nil {
			return err
		}
		if err := PayAnswers(ctx, tx, taskID, assignmentID, store.TimeText(now)); err != nil {
			return err
		}
		out, err = approval(ctx, tx, assignmentID)
		return err
	})
	if err != nil {
		return Approval{}, fmt.Errorf("ledger: overturn rejection: %w", err)
	}
	return out, nil
}
