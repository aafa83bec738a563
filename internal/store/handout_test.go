package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"banyan/internal/work"
)

// Handing out work and taking answers is the dispatch package's, which a
// test inside this package cannot import; holdTask and answerTask write
// the rows a test of training time needs (a task in a worker's hands, an
// answer with its measured time) as dispatch writes them.

// holdTask gives the worker the oldest task of the pool, held from now for
// its project's time limit.
func holdTask(t *testing.T, s *Store, workerID string) work.Assignment {
	t.Helper()
	ctx := context.Background()
	now := s.now()
	a := work.Assignment{ID: work.NewID(), WorkerID: workerID, State: work.AssignmentActive, CreatedAt: now}
	var seconds int
	if err := s.r.QueryRow(`SELECT t.id, t.project_id, p.assignment_seconds FROM tasks t JOIN projects p ON p.id = t.project_id
		WHERE t.state IN ('open', 'in_progress') AND t.gold = 0 AND t.wanted - t.answers - t.holders > 0 ORDER BY t.id LIMIT 1`).
		Scan(&a.TaskID, &a.ProjectID, &seconds); err != nil {
		t.Fatal(err)
	}
	a.ExpiresAt = now.Add(time.Duration(seconds) * time.Second)
	err := s.Write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET holders = holders + 1, state = 'in_progress', updated_at = ? WHERE id = ?`,
			ts(now), a.TaskID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO assignments (id, task_id, project_id, worker_id, state, created_at, expires_at)
			VALUES (?, ?, ?, ?, 'active', ?, ?)`, a.ID, a.TaskID, a.ProjectID, a.WorkerID, ts(now), ts(a.ExpiresAt))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// answerTask stores the worker's answer to a held task now, measured from
// the offer.
func answerTask(t *testing.T, s *Store, a work.Assignment, answer work.Answer) {
	t.Helper()
	raw, err := json.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	now := s.now()
	worked := s.workedMS(a.CreatedAt, now, a.ExpiresAt.Sub(a.CreatedAt))
	if _, err := s.w.Exec(`UPDATE assignments SET state = 'submitted', answer = ?, submitted_at = ?, duration_ms = ? WHERE id = ?`,
		string(raw), ts(now), worked, a.ID); err != nil {
		t.Fatal(err)
	}
}
