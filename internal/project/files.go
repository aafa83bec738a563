package project

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/store"
)

// TaskFile is one attachment of a task: the input field that names it,
// the name it had in the upload, and the stored file. It is declared in
// the store (files.go) while the village center's local store, which
// keeps the files of its grants and cannot import this package, is
// there; the declaration moves here when that store leaves.
type TaskFile = store.TaskFile

// TaskFilesIn lists a task's attachments, by field, through r: the
// store's reader, or a transaction (a lease carries them).
func TaskFilesIn(ctx context.Context, r store.Reader, taskID string) ([]TaskFile, error) {
	rows, err := r.QueryContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM task_files f JOIN blobs b ON b.sha256 = f.sha256 WHERE f.task_id = ? ORDER BY f.field`, taskID)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, scanTaskFile)
}

func scanTaskFile(r store.Scanner) (TaskFile, error) {
	var f TaskFile
	return f, r.Scan(&f.Field, &f.Name, &f.SHA256, &f.Size, &f.MediaType)
}

// TaskFiles lists a task's attachments, by field.
func TaskFiles(ctx context.Context, st *store.Store, taskID string) ([]TaskFile, error) {
	fs, err := TaskFilesIn(ctx, st.Read(ctx), taskID)
	if err != nil {
		return nil, fmt.Errorf("project: files of task %s: %w", taskID, err)
	}
	return fs, nil
}

// CenterFile returns the file with hash sum if the center holds an active
// lease of a task that names it: a center may fetch only what its leases
// need.
func CenterFile(ctx context.Context, st *store.Store, centerID, sum string) (TaskFile, error) {
	f, err := scanTaskFile(st.Read(ctx).QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM task_files f JOIN blobs b ON b.sha256 = f.sha256 JOIN leases l ON l.task_id = f.task_id
		WHERE f.sha256 = ? AND l.center_id = ? AND l.state = 'active' LIMIT 1`, sum, centerID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("project: file %s for center %s: %w", sum, centerID, store.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("project: file %s for center %s: %w", sum, centerID, err)
	}
	return f, nil
}

// AssignmentFile returns the attachment in field of the task a worker's
// assignment is for, while the assignment is theirs and active.
func AssignmentFile(ctx context.Context, st *store.Store, assignmentID, workerID, field string) (TaskFile, error) {
	f, err := scanTaskFile(st.Read(ctx).QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, b.size, b.media_type
		FROM assignments a JOIN task_files f ON f.task_id = a.task_id JOIN blobs b ON b.sha256 = f.sha256
		WHERE a.id = ? AND a.worker_id = ? AND a.state = 'active' AND f.field = ?`, assignmentID, workerID, field))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("project: file %q of assignment %s: %w", field, assignmentID, store.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("project: file %q of assignment %s: %w", field, assignmentID, err)
	}
	return f, nil
}
