// Package project owns clients' projects and what is made of them: batches
// and their tasks (dated by DueRule for the order work is handed out in), a
// task's files, the results a settled task leaves, a batch's completion, a
// client's rejection of a result, and the bodies of the webhook events
// these cause (result.ready, task.failed, batch.completed). It owns their
// SQL. Cancelling a batch and changing a project recall leases, so they
// live in dispatch.
package project

import (
	"context"
	"encoding/json"
	"fmt"

	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/work"
)

// CreateProject adds a project. The caller has validated it; the schema is
// stored as JSON.
func CreateProject(ctx context.Context, st *store.Store, p work.Project) (work.Project, error) {
	schema, err := json.Marshal(p.Schema)
	if err != nil {
		return work.Project{}, fmt.Errorf("project: schema: %w", err)
	}
	p.ID = work.NewID()
	p.CreatedAt = st.Now()
	q := p.Quality
	var rubric any
	if q.Rubric != nil {
		raw, err := json.Marshal(q.Rubric)
		if err != nil {
			return work.Project{}, fmt.Errorf("project: rubric: %w", err)
		}
		rubric = string(raw)
	}
	var taken bool
	err = st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO projects (id, client_id, name, kind, schema, instructions,
			overlap, max_overlap, assignment_seconds, language, method, confidence_target, gold_ratio,
			min_accuracy, min_gold, min_answer_ms, review_rate, created_at,
			max_text_error, rubric, review_first, priority)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			?, ?, ?, ?)`,
			p.ID, p.ClientID, p.Name, string(p.Kind), string(schema), p.Instructions,
			p.Overlap, p.MaxOverlap, p.AssignmentSeconds, q.Language, q.Method, q.ConfidenceTarget, q.GoldRatio,
			q.MinAccuracy, q.MinGold, q.MinAnswerMS, q.ReviewRate, store.TimeText(p.CreatedAt),
			q.MaxTextError, rubric, q.ReviewFirst, p.Priority)
		taken = tx.IsUniqueViolation(err)
		return err
	})
	if taken {
		return work.Project{}, problem.Public(store.ErrConflict, "this client already has a project named %q", p.Name)
	}
	if err != nil {
		return work.Project{}, fmt.Errorf("project: create: %w", err)
	}
	return p, nil
}

// Projects lists projects by id; clientID "" lists every client's.
func Projects(ctx context.Context, st *store.Store, clientID string, p store.Page) ([]work.Project, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT `+ProjectColumns+` FROM projects
		WHERE (? = '' OR client_id = ?) AND id > ? ORDER BY id LIMIT ?`, clientID, clientID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("project: list: %w", err)
	}
	return store.Collect(rows, ScanProject)
}
