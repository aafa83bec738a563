package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// taskFiles lists a task's attachments, by field.
func taskFiles(ctx context.Context, q querier, taskID string) ([]TaskFile, error) {
	rows, err := q.QueryContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM task_files f JOIN blobs b ON b.sha256 = f.sha256 WHERE f.task_id = ? ORDER BY f.field`, taskID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTaskFile)
}

func scanTaskFile(r scanner) (TaskFile, error) {
	var f TaskFile
	return f, r.Scan(&f.Field, &f.Name, &f.SHA256, &f.Size, &f.MediaType)
}

// TaskFiles lists a task's attachments, by field.
func (s *Store) TaskFiles(ctx context.Context, taskID string) ([]TaskFile, error) {
	fs, err := taskFiles(ctx, s.r, taskID)
	if err != nil {
		return nil, fmt.Errorf("store: files of task %s: %w", taskID, err)
	}
	return fs, nil
}

// CenterFile returns the file with hash sum if the center holds an active
// lease of a task that names it: a center may fetch only what its leases
// need.
func (s *Store) CenterFile(ctx context.Context, centerID, sum string) (TaskFile, error) {
	f, err := scanTaskFile(s.r.QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM task_files f JOIN blobs b ON b.sha256 = f.sha256 JOIN leases l ON l.task_id = f.task_id
		WHERE f.sha256 = ? AND l.center_id = ? AND l.state = 'active' LIMIT 1`, sum, centerID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("store: file %s for center %s: %w", sum, centerID, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("store: file %s for center %s: %w", sum, centerID, err)
	}
	return f, nil
}

// AssignmentFile returns the attachment in field of the task a worker's
// assignment is for, while the assignment is theirs and active.
func (s *Store) AssignmentFile(ctx context.Context, assignmentID, workerID, field string) (TaskFile, error) {
	f, err := scanTaskFile(s.r.QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM assignments a JOIN task_files f ON f.task_id = a.task_id JOIN blobs b ON b.sha256 = f.sha256
		WHERE a.id = ? AND a.worker_id = ? AND a.state = 'active' AND f.field = ?`, assignmentID, workerID, field))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("store: file %q of assignment %s: %w", field, assignmentID, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("store: file %q of assignment %s: %w", field, assignmentID, err)
	}
	return f, nil
}
