package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// The money events settling an answer writes, inside the transaction that
// settles it (dispatch calls them): a delivered result's charge, approved
// answers' pay, a gold answer's bonus, and the approval or hold of a
// settled task's answers.

// ChargeDelivery records, in the transaction that settles a task, the
// client's charge for its result. Event ids begin with the time, so the
// ledger posts events in the order they happened.
func ChargeDelivery(ctx context.Context, tx *store.Tx, taskID, now string) error {
	// The ref numbers the task's deliveries: a result the client rejected
	// and got again is charged again.
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, task_id, project_id, client_id, currency, client_price, gst_bps, created_at)
		SELECT CAST(? AS TEXT) || ':delivery:' || t.id, 'delivery',
			t.id || ':' || CAST((SELECT count(*) FROM result_rejections x WHERE x.task_id = t.id) AS TEXT),
			t.id, t.project_id, p.client_id, rc.currency, rc.client_price, rc.gst_bps, ?
		FROM tasks t JOIN projects p ON p.id = t.project_id JOIN rate_cards rc ON rc.project_id = t.project_id
		WHERE t.id = ? AND t.gold = 0
		ON CONFLICT (kind, ref) DO NOTHING`, now, now, taskID)
	return err
}

// PayAnswers records, in the transaction that approves them, the pay for
// a task's counted answers (all of them, the minority's too) or, with
// assignmentID set, for that one answer. An answer given at a village
// center also earns the center its share. A reply rejected at review by
// rubric (flagged rejected) is paid only by name, when its rejection is
// overturned.
func PayAnswers(ctx context.Context, tx *store.Tx, taskID, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, center_id, currency,
			worker_pay, center_share, created_at)
		SELECT CAST(? AS TEXT) || ':pay:' || a.id, 'pay', a.id, a.project_id, p.client_id, a.worker_id,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN o.id END, rc.currency, rc.worker_pay,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN rc.center_share ELSE 0 END, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
			JOIN users u ON u.id = a.worker_id JOIN orgs o ON o.id = u.org_id
		WHERE a.task_id = ? AND a.state = 'submitted' AND (? = '' OR a.id = ?) AND (a.flag IS NULL OR (a.flag = 'rejected' AND a.id = ?))
		ON CONFLICT (kind, ref) DO NOTHING`, now, auth.BuiltinCenterOrgID, auth.BuiltinCenterOrgID, now, taskID, assignmentID, assignmentID, assignmentID)
	return err
}

// GoldBonus records, in the scoring transaction, the project's bonus for
// a gold answer that was fully right.
func GoldBonus(ctx context.Context, tx *store.Tx, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, currency, worker_pay, created_at)
		SELECT CAST(? AS TEXT) || ':bonus:gold:' || a.id, 'bonus', 'gold:' || a.id, a.project_id, p.client_id, a.worker_id, rc.currency,
			rc.gold_bonus, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
		WHERE a.id = ? AND rc.gold_bonus > 0
		ON CONFLICT (kind, ref) DO NOTHING`, now, now, assignmentID)
	return err
}

// ApproveOrHold acts, in the settling transaction, on a task's counted
// answers: they are approved and paid at once, or held until the rate
// card's wait is over (ApproveDue). A project without prices pays
// nothing.
func ApproveOrHold(ctx context.Context, tx *store.Tx, taskID, now string) error {
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
		return PayAnswers(ctx, tx, taskID, "", now)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO approvals (assignment_id, task_id, state, due_at)
		SELECT a.id, a.task_id, 'pending', ? FROM assignments a
		WHERE a.task_id = ? AND a.state = 'submitted' AND a.flag IS NULL
		ON CONFLICT (assignment_id) DO NOTHING`, store.TimeText(store.ParseTimeText(now).Add(time.Duration(wait)*time.Second)), taskID)
	return err
}

// RejectAtReview records, in the transaction of the review that failed a
// reply on its project's rubric, the reply's rejection with the reason:
// it is not paid, unless the rejection is overturned within the rate
// card's window (OverturnRejection), which pays it. A project without
// prices records nothing.
func RejectAtReview(ctx context.Context, tx *store.Tx, assignmentID, by, reason, now string) error {
	var window int
	err := tx.QueryRowContext(ctx, `SELECT rc.overturn_seconds FROM assignments a JOIN rate_cards rc ON rc.project_id = a.project_id
		WHERE a.id = ?`, assignmentID).Scan(&window)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no prices: nothing to pay or withhold
	}
	if err != nil {
		return err
	}
	until := store.TimeText(store.ParseTimeText(now).Add(time.Duration(window) * time.Second))
	_, err = tx.ExecContext(ctx, `INSERT INTO approvals (assignment_id, task_id, state, due_at, reason, decided_by, decided_at, overturn_until)
		SELECT a.id, a.task_id, 'rejected', ?, ?, ?, ?, ? FROM assignments a WHERE a.id = ?
		ON CONFLICT (assignment_id) DO NOTHING`, now, reason, by, now, until, assignmentID)
	return err
}
