package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/store"
)

// A worker's unsent answer to an assignment, kept between pages.

// MaxDraftBytes bounds one saved draft.
const MaxDraftBytes = 64 << 10

// SaveDraft keeps a worker's unsent answer to an assignment.
func SaveDraft(ctx context.Context, st *store.Store, workerID, assignmentID, body string) error {
	if len(body) > MaxDraftBytes {
		return fmt.Errorf("dispatch: draft of %d bytes is over the %d-byte limit", len(body), MaxDraftBytes)
	}
	_, err := st.Exec(ctx, `INSERT INTO drafts (assignment_id, worker_id, body, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (assignment_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
		WHERE drafts.worker_id = excluded.worker_id`, assignmentID, workerID, body, store.TimeText(st.Now()))
	if err != nil {
		return fmt.Errorf("dispatch: save draft: %w", err)
	}
	return nil
}

// Draft returns a worker's saved draft for an assignment, "" if none.
func Draft(ctx context.Context, st *store.Store, workerID, assignmentID string) (string, error) {
	var body string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT body FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dispatch: draft: %w", err)
	}
	return body, nil
}

// DropDraft forgets a draft once its answer is in.
func DropDraft(ctx context.Context, st *store.Store, workerID, assignmentID string) error {
	if _, err := st.Exec(ctx, `DELETE FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID); err != nil {
		return fmt.Errorf("dispatch: drop draft: %w", err)
	}
	return nil
}
