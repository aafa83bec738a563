package project

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"banyan/internal/store"
	"banyan/internal/work"
)

// TaskColumns are the columns ScanTask reads, in its order, for a query's
// SELECT or RETURNING list.
const TaskColumns = `id, project_id, batch_id, external_id, payload, state, answers, wanted, review_reason, created_at, updated_at`

// ScanTask reads one task selected with TaskColumns.
func ScanTask(r store.Scanner) (work.Task, error) {
	var t work.Task
	var payload, state, created, updated string
	var reason sql.NullString
	err := r.Scan(&t.ID, &t.ProjectID, &t.BatchID, &t.ExternalID, &payload, &state, &t.Answers, &t.Wanted, &reason, &created, &updated)
	t.ReviewReason = reason.String
	t.Payload = json.RawMessage(payload)
	t.State = work.TaskState(state)
	t.CreatedAt = store.ParseTimeText(created)
	t.UpdatedAt = store.ParseTimeText(updated)
	return t, err
}

// Task returns one task.
func Task(ctx context.Context, st *store.Store, id string) (work.Task, error) {
	t, err := ScanTask(st.Read(ctx).QueryRowContext(ctx, `SELECT `+TaskColumns+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Task{}, fmt.Errorf("project: task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return work.Task{}, fmt.Errorf("project: task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists a batch's tasks by id; state "" means any state.
func Tasks(ctx context.Context, st *store.Store, batchID string, state work.TaskState, p store.Page) ([]work.Task, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT `+TaskColumns+` FROM tasks
		WHERE batch_id = ? AND (? = '' OR state = ?) AND id > ? ORDER BY id LIMIT ?`,
		batchID, string(state), string(state), p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("project: list tasks: %w", err)
	}
	return store.Collect(rows, ScanTask)
}

// ProjectTasks lists a project's tasks in one state, by id.
func ProjectTasks(ctx context.Context, st *store.Store, projectID string, state work.TaskState, p store.Page) ([]work.Task, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT `+TaskColumns+` FROM tasks
		WHERE project_id = ? AND state = ? AND id > ? ORDER BY id LIMIT ?`,
		projectID, string(state), p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("project: list tasks: %w", err)
	}
	return store.Collect(rows, ScanTask)
}

// ResultScope picks whose results to read: one batch, or a whole project.
type ResultScope struct {
	BatchID   string
	ProjectID string
	// WithPayload also reads each task's payload.
	WithPayload bool
}

// Results lists final results by task id, with each task's external id.
// The page's lower bound is given for both tables: PostgreSQL may join
// them by merging the two id orders, and without it the tasks side of
// every page starts over from the first task (a 1,000,000-result export
// took minutes rather than seconds).
func Results(ctx context.Context, st *store.Store, scope ResultScope, p store.Page) ([]work.Result, error) {
	col, id := "r.batch_id", scope.BatchID
	if id == "" {
		col, id = "r.project_id", scope.ProjectID
	}
	payload := `''`
	if scope.WithPayload {
		payload = `t.payload`
	}
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT r.task_id, t.external_id, r.project_id, r.batch_id, r.answer,
			r.confidence, r.answers, r.source, r.created_at, `+payload+`
		FROM results r JOIN tasks t ON t.id = r.task_id
		WHERE `+col+` = ? AND r.task_id > ? AND t.id > ? ORDER BY r.task_id LIMIT ?`, id, p.After, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("project: list results: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (work.Result, error) {
		var res work.Result
		var answer, created, payload string
		if err := r.Scan(&res.TaskID, &res.ExternalID, &res.ProjectID, &res.BatchID, &answer,
			&res.Confidence, &res.Answers, &res.Source, &created, &payload); err != nil {
			return res, err
		}
		if payload != "" {
			res.Payload = []byte(payload)
		}
		res.CreatedAt = store.ParseTimeText(created)
		return res, json.Unmarshal([]byte(answer), &res.Answer)
	})
}
