package center

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// The audits the hub sends the center's reviewers: tasks of the center's
// leases that the hub drew at their project's review rate, to be reviewed
// blind — the item, never the workers' answers. They come down the feed
// (applyAuditTask, applyAuditRecall); a reviewer is shown them before any
// answer they pick to check on their own (AuditNext, then ReviewNext), and
// the verdict goes up as a wire.AuditVerdict (AuditVerdict), where it
// settles the task.

// AuditItem is a task the hub sent for a blind audit, as a center
// reviewer sees it.
type AuditItem struct {
	AuditID string
	Payload json.RawMessage
	Project wire.Project
}

// errOwnWork refuses an audit to a reviewer who answered its task, or
// checked an answer to it: they cannot judge it blind.
var errOwnWork = problem.NewSentinel(problem.Forbidden,
	"you answered this task or checked an answer to it; another reviewer must audit it")

// ownWork holds when a reviewer answered the task of the center audit x
// (center_audit_tasks), as the hub knows or here, or checked an answer to
// it here: they cannot judge it blind. Its three arguments are the
// reviewer's id.
const ownWork = `(EXISTS (SELECT 1 FROM center_audit_exclusions e WHERE e.audit_id = x.id AND e.worker_id = ?)
	OR EXISTS (SELECT 1 FROM center_grants g JOIN center_work w ON w.lease_id = g.lease_id
	           LEFT JOIN answer_reviews r ON r.assignment_id = w.id AND r.reviewer_id = ?
	           WHERE g.task_key = x.task_key AND (w.worker_id = ? OR r.id IS NOT NULL)))`

// applyAuditTask keeps an audit the hub sent, with its project; an audit
// the center holds already stays as it is.
func applyAuditTask(ctx context.Context, tx *store.Tx, f dispatch.FeedAuditTask, now time.Time) error {
	if err := saveProject(ctx, tx, f.Project, now); err != nil {
		return err
	}
	deadline := now.Add(time.Duration(f.DueInSeconds) * time.Second)
	if _, err := tx.ExecContext(ctx, `INSERT INTO center_audit_tasks (id, task_key, project_id, payload, state, local_deadline, received_at)
		VALUES (?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (id) DO NOTHING`,
		f.AuditID, f.TaskKey, f.Project.ID, string(f.Payload), store.TimeText(deadline), store.TimeText(now)); err != nil {
		return err
	}
	for _, w := range f.Exclude {
		if _, err := tx.ExecContext(ctx, `INSERT INTO center_audit_exclusions (audit_id, worker_id) VALUES (?, ?)
			ON CONFLICT (audit_id, worker_id) DO NOTHING`, f.AuditID, w); err != nil {
			return err
		}
	}
	return nil
}

// applyAuditRecall ends an audit the hub took back: no reviewer is shown
// it any more. A verdict saved before stays, and the hub refuses it.
func applyAuditRecall(ctx context.Context, tx *store.Tx, f dispatch.FeedAuditRecall, _ time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE center_audit_tasks SET state = 'recalled', reason = ? WHERE id = ? AND state = 'open'`, f.Reason, f.AuditID)
	return err
}

// clearAudits forgets the audits no reviewer has answered, before a
// snapshot brings again those still out.
func clearAudits(ctx context.Context, tx *store.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM center_audit_exclusions WHERE audit_id IN (SELECT id FROM center_audit_tasks WHERE state = 'open')`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM center_audit_tasks WHERE state = 'open'`)
	return err
}

// AuditNext picks the audit a reviewer may do that is due soonest;
// store.ErrNotFound when there is none.
func (l *Local) AuditNext(ctx context.Context, reviewerID string) (AuditItem, error) {
	var it AuditItem
	var payload string
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT x.id, x.payload FROM center_audit_tasks x
		WHERE x.state = 'open' AND x.local_deadline > ? AND NOT `+ownWork+`
		ORDER BY x.local_deadline, x.id LIMIT 1`, store.TimeText(l.Store.Now()), reviewerID, reviewerID, reviewerID).Scan(&it.AuditID, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("center: no audit for %s: %w", reviewerID, store.ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("center: audit next: %w", err)
	}
	it.Payload = json.RawMessage(payload)
	it.Project, err = l.auditProject(ctx, it.AuditID)
	return it, err
}

// auditProject returns the project of an audit at the center.
func (l *Local) auditProject(ctx context.Context, auditID string) (wire.Project, error) {
	p, err := scanProject(l.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+projectCols+`
		FROM center_audit_tasks x JOIN center_projects p ON p.id = x.project_id WHERE x.id = ?`, auditID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("center: audit %s: %w", auditID, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("center: audit %s: %w", auditID, err)
	}
	return p, nil
}

// AuditVerdict saves a reviewer's verdict on an audit — the answer they
// find right, checked against the project's schema — with its outbox row,
// and returns its id. The audit must be open, in time, and of a task the
// reviewer neither answered nor checked an answer to; one verdict decides
// it.
func (l *Local) AuditVerdict(ctx context.Context, auditID, reviewerID string, raw json.RawMessage) (string, error) {
	var state, reason, deadline string
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT state, reason, local_deadline FROM center_audit_tasks WHERE id = ?`, auditID).
		Scan(&state, &reason, &deadline)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("center: audit %s: %w", auditID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("center: audit %s: %w", auditID, err)
	}
	switch {
	case state == "recalled":
		return "", problem.Public(store.ErrConflict, "the hub took audit %s back (%s); its reviewers settle the task", auditID, reason)
	case state == "answered":
		return "", problem.Public(store.ErrConflict, "audit %s has a verdict already", auditID)
	case !store.ParseTimeText(deadline).After(l.Store.Now()):
		return "", problem.Public(store.ErrConflict, "the time for audit %s ran out; the hub's reviewers settle the task", auditID)
	}
	var own int
	if err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT CASE WHEN `+ownWork+` THEN 1 ELSE 0 END FROM center_audit_tasks x WHERE x.id = ?`,
		reviewerID, reviewerID, reviewerID, auditID).Scan(&own); err != nil {
		return "", fmt.Errorf("center: audit %s: %w", auditID, err)
	}
	if own == 1 {
		return "", errOwnWork
	}
	p, err := l.auditProject(ctx, auditID)
	if err != nil {
		return "", err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, raw)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return "", err
	}
	id, err := l.Store.Born(ctx, wire.KindAuditVerdict, wire.AuditVerdict{AuditID: auditID, ReviewerID: reviewerID, Answer: body},
		func(tx *store.Tx, id string, now time.Time) error {
			// Checked again as it is written: two reviewers may answer at
			// once, and only the first verdict stands.
			res, err := tx.ExecContext(ctx, `UPDATE center_audit_tasks SET state = 'answered', reviewer_id = ?, verdict_id = ?
				WHERE id = ? AND state = 'open' AND local_deadline > ?`, reviewerID, id, auditID, store.TimeText(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err == nil && n == 0 {
				err = problem.Public(store.ErrConflict, "audit %s has a verdict already", auditID)
			}
			return err
		})
	if err != nil {
		return "", fmt.Errorf("center: verdict on audit %s: %w", auditID, err)
	}
	return id, nil
}
