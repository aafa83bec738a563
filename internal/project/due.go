package project

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"banyan/internal/store"
)

// DueRule dates batches for the order work is handed out in: earliest
// effective due first, then oldest. A batch's effective due is its
// deadline or, without one, its upload time plus Undated (so work without
// a deadline is not passed over for ever), made PriorityStep earlier for
// each step of its project's priority.
type DueRule struct {
	Undated      time.Duration
	PriorityStep time.Duration
}

// DefaultDueRule is the rule a database starts with (migration 0024).
var DefaultDueRule = DueRule{Undated: 7 * 24 * time.Hour, PriorityStep: 24 * time.Hour}

// Due is the effective due of a batch uploaded at created, with its
// deadline if it has one, in a project of the given priority. Batches and
// tasks keep it in Unix seconds (the column due).
func (r DueRule) Due(created time.Time, deadline *time.Time, priority int) time.Time {
	due := created.Add(r.Undated)
	if deadline != nil {
		due = *deadline
	}
	return due.Add(-time.Duration(priority) * r.PriorityStep)
}

// dueOf reads the rule in force and the priority of project projectID,
// locking the project's row: a change of its priority (which re-dates its
// batches) waits for the batch being made, and the other way round.
func dueOf(ctx context.Context, tx *store.Tx, projectID string) (DueRule, int, error) {
	var r DueRule
	var undated, step int64
	var priority int
	if err := tx.QueryRowContext(ctx, `SELECT p.priority, r.undated_seconds, r.priority_step_seconds
		FROM projects p, due_rule r WHERE p.id = ? AND r.id = 1`+tx.ForUpdateOf("p"), projectID).Scan(&priority, &undated, &step); err != nil {
		return r, 0, fmt.Errorf("due rule of project %s: %w", projectID, err)
	}
	r.Undated, r.PriorityStep = time.Duration(undated)*time.Second, time.Duration(step)*time.Second
	return r, priority, nil
}

// SetDueRule makes r, in whole seconds, the rule in force and re-dates
// every batch it moves, with their tasks not yet final, in one
// transaction; batches made before there was a rule are dated here too.
// It returns how many batches moved.
// A hub calls it as it starts serving: hubs sharing a database should be
// given the same rule, as the last one started wins.
func SetDueRule(ctx context.Context, st *store.Store, r DueRule) (int, error) {
	if r.Undated < time.Second || r.PriorityStep < 0 {
		return 0, fmt.Errorf("project: due rule: want undated of at least 1s and a step of 0 or more, got %s and %s", r.Undated, r.PriorityStep)
	}
	r.Undated, r.PriorityStep = r.Undated.Truncate(time.Second), r.PriorityStep.Truncate(time.Second)
	var n int
	err := st.Write(ctx, func(tx *store.Tx) (err error) {
		if _, err := tx.ExecContext(ctx, `UPDATE due_rule SET undated_seconds = ?, priority_step_seconds = ? WHERE id = 1`,
			int64(r.Undated/time.Second), int64(r.PriorityStep/time.Second)); err != nil {
			return err
		}
		n, err = redate(ctx, tx, r, `1 = 1`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("project: set due rule: %w", err)
	}
	return n, nil
}

// SetPriority changes a project's priority inside tx and re-dates its
// batches, so their tasks not yet handed out move in the order at once.
// The caller has checked priority is from 0 to work.MaxPriority.
func SetPriority(ctx context.Context, tx *store.Tx, projectID string, priority int) error {
	res, err := tx.ExecContext(ctx, `UPDATE projects SET priority = ? WHERE id = ?`, priority, projectID)
	if err != nil {
		return fmt.Errorf("project: set priority of %s: %w", projectID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("project: %s: %w", projectID, store.ErrNotFound)
	}
	r, _, err := dueOf(ctx, tx, projectID)
	if err != nil {
		return fmt.Errorf("project: set priority: %w", err)
	}
	if _, err := redate(ctx, tx, r, `b.project_id = ?`, projectID); err != nil {
		return fmt.Errorf("project: set priority of %s: %w", projectID, err)
	}
	return nil
}

// redate dates the batches that where selects (over batches b) by r,
// and with each batch whose date moved, its tasks not yet final. It
// returns how many batches moved.
func redate(ctx context.Context, tx *store.Tx, r DueRule, where string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT b.id, b.created_at, b.deadline, b.due, p.priority
		FROM batches b JOIN projects p ON p.id = b.project_id WHERE `+where, args...)
	if err != nil {
		return 0, err
	}
	type dated struct {
		id    string
		due   int64
		moved bool
	}
	batches, err := store.Collect(rows, func(s store.Scanner) (dated, error) {
		var b dated
		var created string
		var deadline sql.NullString
		var stored sql.NullInt64
		var priority int
		if err := s.Scan(&b.id, &created, &deadline, &stored, &priority); err != nil {
			return b, err
		}
		b.due = r.Due(store.ParseTimeText(created), store.ParseNullTimeText(deadline), priority).Unix()
		b.moved = !stored.Valid || stored.Int64 != b.due
		return b, nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range batches {
		if !b.moved {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET due = ? WHERE id = ?`, b.due, b.id); err != nil {
			return 0, err
		}
		// The condition is the partial index tasks_batch_open's.
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET due = ? WHERE batch_id = ? AND state NOT IN ('done', 'failed')`, b.due, b.id); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
