package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"banyan/internal/quality"
	"banyan/internal/work"
)

// ProjectAnswers calls fn with every counted answer given to the project's
// tasks (gold included), task by task.
func (s *Store) ProjectAnswers(ctx context.Context, projectID string, fn func(taskID, workerID string, a work.Answer) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT a.task_id, a.worker_id, a.answer FROM assignments a
		WHERE a.project_id = ? AND a.state = 'submitted' AND a.flag IS NULL ORDER BY a.task_id`, projectID)
	if err != nil {
		return fmt.Errorf("store: answers of project %s: %w", projectID, err)
	}
	return eachRow(rows, func(r scanner) error {
		var task, worker, raw string
		if err := r.Scan(&task, &worker, &raw); err != nil {
			return err
		}
		var a work.Answer
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return err
		}
		return fn(task, worker, a)
	})
}

// RefitEstimate is one worker's accuracy as a re-fit estimated it.
type RefitEstimate struct {
	Accuracy float64
	Labels   int
}

// SaveRefit records a re-fit of project p: each worker's estimated accuracy
// at the project's skill and how many labels it rests on, and when the
// project was re-fitted.
func (s *Store) SaveRefit(ctx context.Context, p work.Project, estimates map[string]RefitEstimate) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		for worker, e := range estimates {
			if _, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason,
					ds_accuracy, ds_labels, updated_at)
				VALUES (?, ?, ?, ?, ?, 0, 'active', '', ?, ?, ?)
				ON CONFLICT (worker_id, kind, language) DO UPDATE SET ds_accuracy = excluded.ds_accuracy,
					ds_labels = excluded.ds_labels, updated_at = excluded.updated_at`,
				worker, string(p.Kind), p.Language, quality.SkillPrior.Alpha, quality.SkillPrior.Beta, e.Accuracy, e.Labels, now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET refitted_at = ? WHERE id = ?`, now, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save re-fit of project %s: %w", p.ID, err)
	}
	return nil
}

// ProjectsToRefit lists the projects settled by method ds that have had
// answers since their last re-fit.
func (s *Store) ProjectsToRefit(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id FROM projects p WHERE p.method = 'ds' AND EXISTS (
			SELECT 1 FROM assignments a WHERE a.project_id = p.id AND a.state = 'submitted'
			  AND (p.refitted_at IS NULL OR a.submitted_at > p.refitted_at))
		ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("store: projects to re-fit: %w", err)
	}
	return collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}
