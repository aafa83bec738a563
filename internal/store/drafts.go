package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A worker's unsent answer to an assignment, kept between pages.

// MaxDraftBytes bounds one saved draft.
const MaxDraftBytes = 64 << 10

// SaveDraft keeps a worker's unsent answer to an assignment.
func (s *Store) SaveDraft(ctx context.Context, workerID, assignmentID, body string) error {
	if len(body) > MaxDraftBytes {
		return fmt.Errorf("store: draft of %d bytes is over the %d-byte limit", len(body), MaxDraftBytes)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO drafts (assignment_id, worker_id, body, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (assignment_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
		WHERE drafts.worker_id = excluded.worker_id`, assignmentID, workerID, body, ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: save draft: %w", err)
	}
	return nil
}

// Draft returns a worker's saved draft for an assignment, "" if none.
func (s *Store) Draft(ctx context.Context, workerID, assignmentID string) (string, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: draft: %w", err)
	}
	return body, nil
}

// DropDraft forgets a draft once its answer is in.
func (s *Store) DropDraft(ctx context.Context, workerID, assignmentID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID); err != nil {
		return fmt.Errorf("store: drop draft: %w", err)
	}
	return nil
}
