package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"banyan/internal/work"
)

// CenterReviewItem is a saved answer shown to a center reviewer.
type CenterReviewItem struct {
	AssignmentID string          `json:"assignment_id"`
	Payload      json.RawMessage `json:"payload"`
	Answer       work.Answer     `json:"answer"`
	Project      CenterProject   `json:"-"`
}

// CenterReviewNext picks, at random, an answer saved at the center by
// another worker in the last days that the reviewer has not reviewed.
func (s *Store) CenterReviewNext(ctx context.Context, reviewerID string) (CenterReviewItem, error) {
	var it CenterReviewItem
	var payload, answer string
	err := s.r.QueryRowContext(ctx, `SELECT w.id, g.payload, w.answer FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id
		WHERE w.state = 'saved' AND w.worker_id <> ?
		  AND NOT EXISTS (SELECT 1 FROM answer_reviews r WHERE r.assignment_id = w.id AND r.reviewer_id = ?)
		  AND w.id IN (SELECT id FROM center_work WHERE state = 'saved' ORDER BY saved_at DESC LIMIT 2000)
		ORDER BY random() LIMIT 1`, reviewerID, reviewerID).Scan(&it.AssignmentID, &payload, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("store: nothing to review for %s: %w", reviewerID, ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("store: review next: %w", err)
	}
	it.Payload = json.RawMessage(payload)
	if err := json.Unmarshal([]byte(answer), &it.Answer); err != nil {
		return it, err
	}
	it.Project, err = s.savedWorkProject(ctx, it.AssignmentID)
	return it, err
}

// savedWorkProject returns the project of a saved answer at the center.
func (s *Store) savedWorkProject(ctx context.Context, workID string) (CenterProject, error) {
	p, err := scanCenterProject(s.r.QueryRowContext(ctx, `SELECT p.id, p.kind, p.language, p.instructions, p.schema, p.min_answer_ms
		FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id JOIN center_projects p ON p.id = g.project_id
		WHERE w.id = ? AND w.state = 'saved'`, workID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("store: saved answer %s: %w", workID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: saved answer %s: %w", workID, err)
	}
	return p, nil
}

// SavedWorkProject returns the project of an answer saved at the center
// by a worker other than reviewerID, for checking a review's answer.
func (s *Store) SavedWorkProject(ctx context.Context, workID, reviewerID string) (CenterProject, error) {
	var worker string
	err := s.r.QueryRowContext(ctx, `SELECT worker_id FROM center_work WHERE id = ? AND state = 'saved'`, workID).Scan(&worker)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && worker == reviewerID) {
		return CenterProject{}, fmt.Errorf("store: saved answer %s: %w", workID, ErrNotFound)
	}
	if err != nil {
		return CenterProject{}, fmt.Errorf("store: saved answer %s: %w", workID, err)
	}
	return s.savedWorkProject(ctx, workID)
}
