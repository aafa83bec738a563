package center

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// SavedAnswer is an answer saved at the center, shown to a center
// reviewer.
type SavedAnswer struct {
	AssignmentID string
	Payload      json.RawMessage
	Answer       work.Answer
	Project      wire.Project
}

// ReviewNext picks, at random, an answer saved at the center by another
// worker in the last days that the reviewer has not reviewed. Answers to a
// task out for a blind audit here are left out until it is decided, so
// that no reviewer sees them first.
func (l *Local) ReviewNext(ctx context.Context, reviewerID string) (SavedAnswer, error) {
	var it SavedAnswer
	var payload, answer string
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT w.id, g.payload, w.answer FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id
		WHERE w.state = 'saved' AND w.worker_id <> ?
		  AND NOT EXISTS (SELECT 1 FROM answer_reviews r WHERE r.assignment_id = w.id AND r.reviewer_id = ?)
		  AND w.id IN (SELECT id FROM center_work WHERE state = 'saved' ORDER BY saved_at DESC LIMIT 2000)
		  AND NOT EXISTS (SELECT 1 FROM center_audit_tasks x WHERE x.task_key = g.task_key AND x.state = 'open')
		ORDER BY random() LIMIT 1`, reviewerID, reviewerID).Scan(&it.AssignmentID, &payload, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("center: nothing to review for %s: %w", reviewerID, store.ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("center: review next: %w", err)
	}
	it.Payload = json.RawMessage(payload)
	if err := json.Unmarshal([]byte(answer), &it.Answer); err != nil {
		return it, err
	}
	it.Project, err = l.savedWorkProject(ctx, it.AssignmentID)
	return it, err
}

// savedWorkProject returns the project of a saved answer at the center.
func (l *Local) savedWorkProject(ctx context.Context, workID string) (wire.Project, error) {
	p, err := scanProject(l.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+projectCols+`
		FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id JOIN center_projects p ON p.id = g.project_id
		WHERE w.id = ? AND w.state = 'saved'`, workID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("center: saved answer %s: %w", workID, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("center: saved answer %s: %w", workID, err)
	}
	return p, nil
}

// SavedWorkProject returns the project of an answer saved at the center
// by a worker other than reviewerID, for checking a review's answer.
func (l *Local) SavedWorkProject(ctx context.Context, workID, reviewerID string) (wire.Project, error) {
	var worker string
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT worker_id FROM center_work WHERE id = ? AND state = 'saved'`, workID).Scan(&worker)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && worker == reviewerID) {
		return wire.Project{}, fmt.Errorf("center: saved answer %s: %w", workID, store.ErrNotFound)
	}
	if err != nil {
		return wire.Project{}, fmt.Errorf("center: saved answer %s: %w", workID, err)
	}
	return l.savedWorkProject(ctx, workID)
}
