package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Blind audits at village centers. A task sampled for review at its
// project's rate (ReviewSample) that a village center held a lease of goes
// to that center's reviewers when the center has a reviewer who did not
// answer it: down the center's feed (FeedAuditTask), with its item and
// never its answers. A center reviewer's verdict (ReceiveAuditVerdict)
// settles the task by the code a hub reviewer's verdict runs (resolve).
// Without a verdict by the audit's due time the hub takes it back into its
// own review queue (RecallAudits) and tells the center (FeedAuditRecall),
// and a verdict that comes after is refused.

// States of an audit sent to a village center, as center_audits keeps
// them.
const (
	AuditSent     = "sent"
	AuditDecided  = "decided"
	AuditRecalled = "recalled"
)

// Feed kinds of the audits sent to a village center.
const (
	FeedKindAuditTask   = "audit_task"
	FeedKindAuditRecall = "audit_recall"
)

// DefaultAuditTimeout is how long a village center has for an audit's
// verdict when the service sets no AuditTimeout.
const DefaultAuditTimeout = 48 * time.Hour

func (s *Service) auditTimeout() time.Duration {
	if s.AuditTimeout > 0 {
		return s.AuditTimeout
	}
	return DefaultAuditTimeout
}

// FeedAuditTask is a feed event: the hub sent the center a task to audit
// blind. Its reviewers see the item (Payload, Project), never the
// answers; none of the center's people in Exclude, who answered it, may
// audit it. TaskKey is the task's key in the center's grants (see
// TaskKey). DueInSeconds is the time left for a verdict when the event was
// written (or the snapshot read), which is what a center with a wrong clock
// can trust.
type FeedAuditTask struct {
	AuditID      string          `json:"audit_id"`
	TaskKey      string          `json:"task_key"`
	Payload      json.RawMessage `json:"payload"`
	Project      wire.Project    `json:"project"`
	Exclude      []string        `json:"exclude,omitempty"`
	DueInSeconds int64           `json:"due_in_seconds"`
}

// FeedAuditRecall is a feed event: the hub took an audit back from the
// center, with the reason. A verdict given after is refused.
type FeedAuditRecall struct {
	AuditID string `json:"audit_id"`
	Reason  string `json:"reason"`
}

// sendAudit sends a task just sampled for review to the village center
// that held its latest lease, when that center has a reviewer who did not
// answer the task. Otherwise — no center held it, none of its reviewers
// may audit it, the task has attachments, which a center keeps only
// while it works on the task, or it is a reply to be scored on its
// project's rubric, which only the hub's reviewers do — the task stays in
// the hub's review queue.
func (s *Service) sendAudit(ctx context.Context, tx *store.Tx, taskID, now string) error {
	var centerID string
	err := tx.QueryRowContext(ctx, `SELECT l.center_id FROM leases l JOIN tasks t ON t.id = l.task_id JOIN projects p ON p.id = t.project_id
		WHERE l.task_id = ? AND p.rubric IS NULL ORDER BY l.epoch DESC LIMIT 1`, taskID).Scan(&centerID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var reviewers int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u WHERE u.org_id = ? AND u.role = 'reviewer'
		AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = ? AND a.worker_id = u.id)`, centerID, taskID).Scan(&reviewers); err != nil {
		return err
	}
	if reviewers == 0 {
		return nil
	}
	files, err := project.TaskFilesIn(ctx, tx, taskID)
	if err != nil || len(files) > 0 {
		return err
	}
	id, sent := work.NewID(), store.ParseTimeText(now)
	due := sent.Add(s.auditTimeout())
	if _, err := tx.ExecContext(ctx, `INSERT INTO center_audits (id, task_id, center_id, state, sent_at, due_at) VALUES (?, ?, ?, 'sent', ?, ?)`,
		id, taskID, centerID, now, store.TimeText(due)); err != nil {
		return err
	}
	body, err := auditTask(ctx, tx, id, taskID, centerID, due.Sub(sent))
	if err != nil {
		return err
	}
	return feed.Append(ctx, tx, centerID, FeedKindAuditTask, body, now)
}

// auditTask is the feed event that sends audit id of a task to a center,
// with left to give its verdict in.
func auditTask(ctx context.Context, r store.Reader, id, taskID, centerID string, left time.Duration) (FeedAuditTask, error) {
	f := FeedAuditTask{AuditID: id, TaskKey: TaskKey(centerID, taskID), DueInSeconds: int64(max(left, 0) / time.Second)}
	var payload, projectID string
	if err := r.QueryRowContext(ctx, `SELECT payload, project_id FROM tasks WHERE id = ?`, taskID).Scan(&payload, &projectID); err != nil {
		return f, err
	}
	f.Payload = json.RawMessage(payload)
	p, err := project.ScanProject(r.QueryRowContext(ctx, `SELECT `+project.ProjectColumns+` FROM projects WHERE id = ?`, projectID))
	if err != nil {
		return f, err
	}
	f.Project = wire.Project{ID: p.ID, Kind: p.Kind, Language: p.Language, Instructions: p.Instructions, Schema: p.Schema, MinAnswerMS: p.MinAnswerMS}
	rows, err := r.QueryContext(ctx, `SELECT a.worker_id FROM assignments a JOIN users u ON u.id = a.worker_id
		WHERE a.task_id = ? AND u.org_id = ? ORDER BY a.worker_id`, taskID, centerID)
	if err != nil {
		return f, err
	}
	f.Exclude, err = store.Collect(rows, func(r store.Scanner) (string, error) {
		var w string
		return w, r.Scan(&w)
	})
	return f, err
}

// AuditSnapshot lists the audits out at a center, for a center starting
// its feed afresh (a kind's snapshot, see feed.Kind).
func (s *Service) AuditSnapshot(ctx context.Context, r store.Reader, centerID string) ([]FeedAuditTask, error) {
	rows, err := r.QueryContext(ctx, `SELECT id, task_id, due_at FROM center_audits WHERE center_id = ? AND state = 'sent' ORDER BY id`, centerID)
	if err != nil {
		return nil, err
	}
	type out struct{ id, task, due string }
	sent, err := store.Collect(rows, func(r store.Scanner) (out, error) {
		var o out
		return o, r.Scan(&o.id, &o.task, &o.due)
	})
	if err != nil {
		return nil, err
	}
	now := s.Store.Now()
	tasks := make([]FeedAuditTask, len(sent))
	for i, o := range sent {
		if tasks[i], err = auditTask(ctx, r, o.id, o.task, centerID, store.ParseTimeText(o.due).Sub(now)); err != nil {
			return nil, err
		}
	}
	return tasks, nil
}

// auditOut refuses a hub reviewer's verdict on a task that is out for a
// blind audit at a village center: one verdict settles a task.
func auditOut(ctx context.Context, tx *store.Tx, taskID string) error {
	var centerID, due string
	err := tx.QueryRowContext(ctx, `SELECT center_id, due_at FROM center_audits WHERE task_id = ? AND state = 'sent'`, taskID).Scan(&centerID, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return problem.Public(store.ErrConflict, "task %s is out for a blind audit at village center %s until %s; it comes back to the hub's review queue if no verdict arrives by then",
		taskID, centerID, due)
}

// ReviewQueue lists, by id, a project's tasks waiting for a hub reviewer:
// those waiting for review, less those out for a blind audit at a village
// center.
func (s *Service) ReviewQueue(ctx context.Context, projectID string, pg store.Page) ([]work.Task, error) {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT `+project.TaskColumns+` FROM tasks
		WHERE project_id = ? AND state = 'needs_review' AND id > ?
		  AND NOT EXISTS (SELECT 1 FROM center_audits c WHERE c.task_id = tasks.id AND c.state = 'sent')
		ORDER BY id LIMIT ?`, projectID, pg.After, pg.Limit)
	if err != nil {
		return nil, fmt.Errorf("dispatch: review queue of project %s: %w", projectID, err)
	}
	return store.Collect(rows, project.ScanTask)
}

// CenterAuditVerdict is a center reviewer's verdict on an audit the hub
// sent the center, as the hub receives it; ID is the id the center made
// for the verdict.
type CenterAuditVerdict struct {
	ID, CenterID, AuditID, ReviewerID string
	Answer                            json.RawMessage
}

// ReceiveAuditVerdict settles, inside the upload's transaction tx, a task
// the hub sent a center to audit blind, by its reviewer's verdict and with
// the code a hub reviewer's verdict runs (resolve): the result is
// delivered, the workers' skills move, their answers are approved or held
// for pay, and the audit counts toward the batch's estimated accuracy.
// It is refused, with the reason, when the audit was not sent to this
// center, was taken back or decided already, or its task no longer waits
// for review; when the reviewer is not one of the center's reviewers or
// answered the task; or when the answer does not fit the project. It asks
// for a retry while the reviewer's enrolment has not arrived.
func (s *Service) ReceiveAuditVerdict(ctx context.Context, tx *store.Tx, in CenterAuditVerdict) (wire.Verdict, error) {
	reject := func(format string, args ...any) (wire.Verdict, error) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf(format, args...)}, nil
	}
	// Locked, so that the audit's recall and its verdict do not cross.
	var taskID, centerID, state, reason string
	var ended sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT task_id, center_id, state, reason, ended_at FROM center_audits WHERE id = ?`+tx.ForUpdate(), in.AuditID).
		Scan(&taskID, &centerID, &state, &reason, &ended)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && centerID != in.CenterID) {
		return reject("audit %s was not sent to this center", in.AuditID)
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	if v, ok, err := auth.CenterWorker(ctx, tx, in.CenterID, in.ReviewerID); !ok || err != nil {
		return v, err
	}
	var role string
	if err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, in.ReviewerID).Scan(&role); err != nil {
		return wire.Verdict{}, err
	}
	if role != string(auth.Reviewer) {
		return reject("user %s is a %s: the hub's audits are for the center's reviewers", in.ReviewerID, role)
	}
	switch state {
	case AuditRecalled:
		return reject("audit %s was taken back by the hub at %s (%s); the hub's reviewers settle the task", in.AuditID, ended.String, reason)
	case AuditDecided:
		return reject("audit %s has a verdict already", in.AuditID)
	}
	var taskState, projectID string
	var answered int
	if err := tx.QueryRowContext(ctx, `SELECT state, project_id, (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND a.worker_id = ?)
		FROM tasks t WHERE t.id = ?`, in.ReviewerID, taskID).Scan(&taskState, &projectID, &answered); err != nil {
		return wire.Verdict{}, err
	}
	if answered > 0 {
		return reject("reviewer %s answered the audited task; nobody audits their own work", in.ReviewerID)
	}
	if work.TaskState(taskState) != work.TaskNeedsReview {
		return reject("the audited task is %s now, no longer waiting for review", taskState)
	}
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return wire.Verdict{}, err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, in.Answer)
	if err != nil {
		return reject("answer: %v", err)
	}
	if err := s.resolve(ctx, taskID, in.ReviewerID, answer)(tx); err != nil {
		return wire.Verdict{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE center_audits SET state = 'decided', ended_at = ?, reviewer_id = ?, verdict_id = ? WHERE id = ?`,
		store.TimeText(s.Store.Now()), in.ReviewerID, in.ID, in.AuditID); err != nil {
		return wire.Verdict{}, err
	}
	return wire.Verdict{Status: wire.StatusAccepted}, nil
}

// RecallAudits takes back into the hub's review queue the audits out at
// village centers with no verdict by their due time, and those whose task
// no longer waits for review (its batch was cancelled, say); each center
// hears of it on its feed. It returns how many it took back.
func (s *Service) RecallAudits(ctx context.Context) (int, error) {
	var n int
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(s.Store.Now())
		rows, err := tx.QueryContext(ctx, `SELECT c.id, c.center_id, c.sent_at, c.due_at, t.state FROM center_audits c JOIN tasks t ON t.id = c.task_id
			WHERE c.state = 'sent' AND (c.due_at <= ? OR t.state <> 'needs_review') ORDER BY c.id`, now)
		if err != nil {
			return err
		}
		type out struct{ id, center, sent, due, task string }
		late, err := store.Collect(rows, func(r store.Scanner) (out, error) {
			var o out
			return o, r.Scan(&o.id, &o.center, &o.sent, &o.due, &o.task)
		})
		if err != nil {
			return err
		}
		for _, o := range late {
			reason := fmt.Sprintf("the task is %s now", o.task)
			if work.TaskState(o.task) == work.TaskNeedsReview {
				reason = fmt.Sprintf("no verdict within %s", store.ParseTimeText(o.due).Sub(store.ParseTimeText(o.sent)))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE center_audits SET state = 'recalled', ended_at = ?, reason = ? WHERE id = ?`, now, reason, o.id); err != nil {
				return err
			}
			if err := feed.Append(ctx, tx, o.center, FeedKindAuditRecall, FeedAuditRecall{AuditID: o.id, Reason: reason}, now); err != nil {
				return err
			}
		}
		n = len(late)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch: recall audits: %w", err)
	}
	return n, nil
}

// ScoreReviewed moves, inside tx, the skill of the worker who gave the
// answer assignmentID by a reviewer's check of it that was not drawn at
// random (a center reviewer's own pick): one scored answer, worth
// work.ReviewScore. Nothing else changes: the task's result and pay stand,
// and the check is no audit, since a chosen sample says nothing of the
// batch's accuracy.
func (s *Service) ScoreReviewed(ctx context.Context, tx *store.Tx, assignmentID, verdict string, correction *work.Answer) error {
	var workerID, projectID, raw string
	err := tx.QueryRowContext(ctx, `SELECT worker_id, project_id, answer FROM assignments WHERE id = ? AND state = 'submitted'`, assignmentID).
		Scan(&workerID, &projectID, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dispatch: reviewed answer %s: %w", assignmentID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("dispatch: reviewed answer %s: %w", assignmentID, err)
	}
	var given work.Answer
	if err := json.Unmarshal([]byte(raw), &given); err != nil {
		return fmt.Errorf("dispatch: reviewed answer %s: %w", assignmentID, err)
	}
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return err
	}
	score := work.ReviewScore(p.Kind, p.Schema, p.MaxTextError, verdict, correction, given)
	return s.scoreWorker(ctx, tx, workerID, p, score, "a center review", store.TimeText(s.Store.Now()))
}
