package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"banyan/internal/feed"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// FeedRecall is a feed event: the hub took leases back from the center.
// The center starts no new work on them; answers already given still go
// up and count.
type FeedRecall struct {
	LeaseIDs []string `json:"lease_ids"`
	Reason   string   `json:"reason"`
}

// recall ends the given active leases: their unused slots go back to the
// pool at once, and each center hears of it on its feed (and from its next
// heartbeat). It returns how many leases it ended.
func (s *Service) recall(ctx context.Context, tx *store.Tx, where string, args []any, reason string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT l.id, l.task_id, l.center_id FROM leases l WHERE l.state = 'active' AND `+where+
		` ORDER BY l.center_id, l.id`, args...)
	if err != nil {
		return 0, err
	}
	type hit struct{ lease, task, center string }
	hits, err := store.Collect(rows, func(r store.Scanner) (hit, error) {
		var h hit
		return h, r.Scan(&h.lease, &h.task, &h.center)
	})
	if err != nil {
		return 0, err
	}
	now := store.TimeText(s.Store.Now())
	byCenter := map[string][]string{}
	var order []string
	for _, h := range hits {
		if err := endLease(ctx, tx, h.lease, h.task, LeaseRecalled, reason); err != nil {
			return 0, err
		}
		if byCenter[h.center] == nil {
			order = append(order, h.center)
		}
		byCenter[h.center] = append(byCenter[h.center], h.lease)
	}
	for _, c := range order {
		ids := byCenter[c]
		for len(ids) > 0 { // keep each event small enough for a slow link
			n := min(len(ids), 500)
			if err := feed.Append(ctx, tx, c, "recall", FeedRecall{LeaseIDs: ids[:n], Reason: reason}, now); err != nil {
				return 0, err
			}
			ids = ids[n:]
		}
	}
	return len(hits), nil
}

// RecallFromCenter takes back a center's active leases, all of them or
// those of one batch, so their tasks can go elsewhere now (the center is
// closing, say, or a batch is late there).
func (s *Service) RecallFromCenter(ctx context.Context, centerID, batchID, reason string) (int, error) {
	where, args := `l.center_id = ?`, []any{centerID}
	if batchID != "" {
		where += ` AND l.task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`
		args = append(args, batchID)
	}
	var n int
	err := s.Store.Write(ctx, func(tx *store.Tx) (err error) {
		n, err = s.recall(ctx, tx, where, args, reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch: recall from center %s: %w", centerID, err)
	}
	return n, nil
}

// RecallNearDeadline takes back leases of batches whose deadline is less
// than margin away from centers silent for longer than silence, so a
// center that has gone quiet cannot strand a batch past its deadline.
// Centers still in touch keep their leases: they are working.
func (s *Service) RecallNearDeadline(ctx context.Context, margin, silence time.Duration) (int, error) {
	now := s.Store.Now()
	var n int
	err := s.Store.Write(ctx, func(tx *store.Tx) (err error) {
		n, err = s.recall(ctx, tx, `l.task_id IN (SELECT t.id FROM tasks t JOIN batches b ON b.id = t.batch_id
				WHERE b.deadline IS NOT NULL AND b.deadline < ?)
			AND NOT EXISTS (SELECT 1 FROM center_links c WHERE c.center_id = l.center_id AND c.last_contact > ?)`,
			[]any{store.TimeText(now.Add(margin)), store.TimeText(now.Add(-silence))}, "the batch's deadline is near and the center is silent")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch: recall near deadlines: %w", err)
	}
	return n, nil
}

// CancelBatch, UpdateProject and ProjectChange are changes to a client's
// project; they are here because both recall or notify centers' leases,
// and move on to the project package once dispatch reaches projects
// through an interface (project importing dispatch would cycle).

// CancelBatch stops a batch: its unfinished tasks fail (no result, no
// more answers wanted), hub workers' assignments on them end, and centers'
// leases of them are recalled. Answers already given are kept. Cancelling
// twice is an error naming when it was first done.
func (s *Service) CancelBatch(ctx context.Context, batchID string) (work.Batch, error) {
	var b work.Batch
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = project.ScanBatch(tx.QueryRowContext(ctx, `SELECT `+project.BatchColumns+` FROM batches WHERE id = ?`, batchID)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		if b.CancelledAt != nil {
			return problem.Public(store.ErrConflict, "batch %s was cancelled at %s", batchID, b.CancelledAt.Format(time.RFC3339))
		}
		if _, err := s.recall(ctx, tx, `l.task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`, []any{batchID}, "the batch was cancelled"); err != nil {
			return err
		}
		now := s.Store.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET state = 'expired' WHERE state = 'active'
			AND task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`, batchID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'failed', holders = 0, updated_at = ?
			WHERE batch_id = ? AND state IN ('open', 'in_progress', 'needs_review')`, store.TimeText(now), batchID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET cancelled_at = ? WHERE id = ?`, store.TimeText(now), batchID); err != nil {
			return err
		}
		if err := project.TasksFailed(ctx, s.Store, tx, batchID); err != nil {
			return err
		}
		if err := project.CompleteIfDone(ctx, s.Store, tx, batchID, store.TimeText(now)); err != nil {
			return err
		}
		b.CancelledAt = &now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return b, fmt.Errorf("dispatch: batch %s: %w", batchID, store.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("dispatch: cancel batch %s: %w", batchID, err)
	}
	return b, nil
}

// ProjectChange is what may change of a running project; nil fields stay.
type ProjectChange struct {
	Name         *string
	Instructions *string
	MinAnswerMS  *int64
	// Priority re-dates the project's batches: their tasks not yet handed
	// out move in the order at once. The caller has checked its range.
	Priority *int
}

// FeedProject is a feed event: a project the center works on changed.
type FeedProject struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Instructions string `json:"instructions"`
	MinAnswerMS  int64  `json:"min_answer_ms"`
}

// UpdateProject changes a project and tells every center that holds its
// tasks, through their feeds. A change of priority takes effect in the
// same transaction.
func (s *Service) UpdateProject(ctx context.Context, id string, c ProjectChange) (work.Project, error) {
	var sets []string
	var args []any
	if c.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, *c.Name)
	}
	if c.Instructions != nil {
		sets, args = append(sets, "instructions = ?"), append(args, *c.Instructions)
	}
	if c.MinAnswerMS != nil {
		sets, args = append(sets, "min_answer_ms = ?"), append(args, *c.MinAnswerMS)
	}
	var p work.Project
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		if len(sets) > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE projects SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
			if err != nil {
				if tx.IsUniqueViolation(err) {
					return problem.Public(store.ErrConflict, "the client has another project named %q", *c.Name)
				}
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
		}
		if c.Priority != nil {
			if err := project.SetPriority(ctx, tx, id, *c.Priority); err != nil {
				return err
			}
		}
		var err error
		if p, err = project.ScanProject(tx.QueryRowContext(ctx, `SELECT `+project.ProjectColumns+` FROM projects WHERE id = ?`, id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT l.center_id FROM leases l JOIN tasks t ON t.id = l.task_id
			WHERE t.project_id = ? AND l.state = 'active' ORDER BY l.center_id`, id)
		if err != nil {
			return err
		}
		centers, err := store.Collect(rows, func(r store.Scanner) (string, error) {
			var c string
			return c, r.Scan(&c)
		})
		if err != nil {
			return err
		}
		now := store.TimeText(s.Store.Now())
		for _, c := range centers {
			if err := feed.Append(ctx, tx, c, "project", FeedProject{ID: p.ID, Name: p.Name, Instructions: p.Instructions, MinAnswerMS: p.MinAnswerMS}, now); err != nil {
				return err
			}
		}
		return nil
	})
	s.projects().Forget(id)
	if errors.Is(err, store.ErrNotFound) {
		return p, fmt.Errorf("dispatch: project %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("dispatch: update project %s: %w", id, err)
	}
	return p, nil
}

// ProjectSnapshot is the projects of the center's active leases, by id,
// as a center starting its feed afresh gets them.
func ProjectSnapshot(ctx context.Context, r store.Reader, centerID string) ([]FeedProject, error) {
	rows, err := r.QueryContext(ctx, `SELECT p.id, p.name, p.instructions, p.min_answer_ms FROM projects p
		WHERE p.id IN (SELECT t.project_id FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.center_id = ? AND l.state = 'active')
		ORDER BY p.id`, centerID)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r store.Scanner) (FeedProject, error) {
		var f FeedProject
		return f, r.Scan(&f.ID, &f.Name, &f.Instructions, &f.MinAnswerMS)
	})
}
