package store

import (
	"context"
	"encoding/json"
	"fmt"

	"banyan/internal/work"
)

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
func (s *Store) Results(ctx context.Context, scope ResultScope, p Page) ([]work.Result, error) {
	col, id := "r.batch_id", scope.BatchID
	if id == "" {
		col, id = "r.project_id", scope.ProjectID
	}
	payload := `''`
	if scope.WithPayload {
		payload = `t.payload`
	}
	rows, err := s.r.QueryContext(ctx, `SELECT r.task_id, t.external_id, r.project_id, r.batch_id, r.answer,
			r.confidence, r.answers, r.source, r.created_at, `+payload+`
		FROM results r JOIN tasks t ON t.id = r.task_id
		WHERE `+col+` = ? AND r.task_id > ? AND t.id > ? ORDER BY r.task_id LIMIT ?`, id, p.After, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list results: %w", err)
	}
	return collect(rows, func(r scanner) (work.Result, error) {
		var res work.Result
		var answer, created, payload string
		if err := r.Scan(&res.TaskID, &res.ExternalID, &res.ProjectID, &res.BatchID, &answer,
			&res.Confidence, &res.Answers, &res.Source, &created, &payload); err != nil {
			return res, err
		}
		if payload != "" {
			res.Payload = []byte(payload)
		}
		res.CreatedAt = parseTS(created)
		return res, json.Unmarshal([]byte(answer), &res.Answer)
	})
}
