package store

import (
	"context"
	"database/sql"
)

// The money events the settle path writes in its own transaction: a
// delivered result's charge, approved answers' pay, a gold answer's bonus.
// They stay beside the settle path (assign.go) until it moves to
// dispatch; rate cards, approvals, paid training time, the ledger's chain
// and what is read back from it are the ledger package's.

// chargeDelivery records, in the transaction that settles a task, the
// client's charge for its result. Event ids begin with the time, so the
// ledger posts events in the order they happened.
func chargeDelivery(ctx context.Context, tx *sql.Tx, taskID, now string) error {
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

// payAnswers records, in the transaction that approves them, the pay for
// a task's counted answers (all of them, the minority's too) or, with
// assignmentID set, for that one answer. An answer given at a village
// center also earns the center its share.
func payAnswers(ctx context.Context, tx *sql.Tx, taskID, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, center_id, currency,
			worker_pay, center_share, created_at)
		SELECT CAST(? AS TEXT) || ':pay:' || a.id, 'pay', a.id, a.project_id, p.client_id, a.worker_id,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN o.id END, rc.currency, rc.worker_pay,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN rc.center_share ELSE 0 END, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
			JOIN users u ON u.id = a.worker_id JOIN orgs o ON o.id = u.org_id
		WHERE a.task_id = ? AND a.state = 'submitted' AND a.flag IS NULL AND (? = '' OR a.id = ?)
		ON CONFLICT (kind, ref) DO NOTHING`, now, builtinCenterOrgID, builtinCenterOrgID, now, taskID, assignmentID, assignmentID)
	return err
}

// goldBonus records, in the scoring transaction, the project's bonus for
// a gold answer that was fully right.
func goldBonus(ctx context.Context, tx *sql.Tx, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, currency, worker_pay, created_at)
		SELECT CAST(? AS TEXT) || ':bonus:gold:' || a.id, 'bonus', 'gold:' || a.id, a.project_id, p.client_id, a.worker_id, rc.currency,
			rc.gold_bonus, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
		WHERE a.id = ? AND rc.gold_bonus > 0
		ON CONFLICT (kind, ref) DO NOTHING`, now, now, assignmentID)
	return err
}

// boolInt stores a flag as 0 or 1, which every engine takes.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PayAnswers is payAnswers inside a domain's transaction: approving held
// answers (ledger) pays them as settling does.
func PayAnswers(ctx context.Context, tx *Tx, taskID, assignmentID, now string) error {
	return payAnswers(ctx, tx.tx, taskID, assignmentID, now)
}
