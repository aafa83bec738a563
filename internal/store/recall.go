package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// FeedRecall is a feed event: the hub took leases back from the center.
// The center starts no new work on them; answers already given still go
// up and count.
type FeedRecall struct {
	LeaseIDs []string `json:"lease_ids"`
	Reason   string   `json:"reason"`
}

// FeedProject is a feed event: a project the center works on changed.
type FeedProject struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Instructions string `json:"instructions"`
	MinAnswerMS  int64  `json:"min_answer_ms"`
}

// FeedTo appends an event to one center's feed inside a domain's
// transaction. The append stays in the store while the settle path and
// recalls, which append too, are here; it moves to feed with them.
func (s *Store) FeedTo(ctx context.Context, tx *Tx, centerID, kind string, body any, now string) error {
	return s.feedTo(ctx, tx.tx, centerID, kind, body, now)
}

// feedTo appends an event to one center's feed.
func (s *Store) feedTo(ctx context.Context, tx *sql.Tx, centerID, kind string, body any, now string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// The feed numbers its events itself (max + 1): one writer at a time.
	if err := s.d.serialize(ctx, tx, "feed"); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO feed (seq, center_id, kind, body, created_at)
		VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM feed), ?, ?, ?, ?)`, centerID, kind, string(raw), now)
	return err
}

// The project and recall kinds of the down feed (package feed): the
// hub's composition root lists FeedProjects in a center's snapshot, a
// center's lists the appliers. They leave the store with project changes
// and recalls.

// FeedProjects is the projects of the center's active leases, by id, as a
// center starting its feed afresh gets them.
func FeedProjects(ctx context.Context, r Reader, centerID string) ([]FeedProject, error) {
	rows, err := r.QueryContext(ctx, `SELECT p.id, p.name, p.instructions, p.min_answer_ms FROM projects p
		WHERE p.id IN (SELECT t.project_id FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.center_id = ? AND l.state = 'active')
		ORDER BY p.id`, centerID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r scanner) (FeedProject, error) {
		var f FeedProject
		return f, r.Scan(&f.ID, &f.Name, &f.Instructions, &f.MinAnswerMS)
	})
}

// ApplyFeedProject keeps, at a center, a project change the hub sent. A
// project the center has no task of yet arrives with its first grant; only
// known ones are updated.
func ApplyFeedProject(ctx context.Context, tx *Tx, f FeedProject, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE center_projects SET instructions = ?, min_answer_ms = ?, updated_at = ? WHERE id = ?`,
		f.Instructions, f.MinAnswerMS, ts(now), f.ID)
	return err
}

// ApplyFeedRecall ends, at a center, the grants of the leases the hub took
// back: no new work starts on them. Work in a worker's hands may still be
// saved, and goes up like any other answer.
func ApplyFeedRecall(ctx context.Context, tx *Tx, f FeedRecall, _ time.Time) error {
	for _, id := range f.LeaseIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE lease_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// recall ends the given active leases: their unused slots go back to the
// pool at once, and each center hears of it on its feed (and from its next
// heartbeat). It returns how many leases it ended.
func (s *Store) recall(ctx context.Context, tx *sql.Tx, where string, args []any, reason string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT l.id, l.task_id, l.center_id FROM leases l WHERE l.state = 'active' AND `+where+
		` ORDER BY l.center_id, l.id`, args...)
	if err != nil {
		return 0, err
	}
	type hit struct{ lease, task, center string }
	hits, err := collect(rows, func(r scanner) (hit, error) {
		var h hit
		return h, r.Scan(&h.lease, &h.task, &h.center)
	})
	if err != nil {
		return 0, err
	}
	now := ts(s.now())
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
			if err := s.feedTo(ctx, tx, c, "recall", FeedRecall{LeaseIDs: ids[:n], Reason: reason}, now); err != nil {
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
func (s *Store) RecallFromCenter(ctx context.Context, centerID, batchID, reason string) (int, error) {
	where, args := `l.center_id = ?`, []any{centerID}
	if batchID != "" {
		where += ` AND l.task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`
		args = append(args, batchID)
	}
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		n, err = s.recall(ctx, tx, where, args, reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: recall from center %s: %w", centerID, err)
	}
	return n, nil
}

// RecallNearDeadline takes back leases of batches whose deadline is less
// than margin away from centers silent for longer than silence, so a
// center that has gone quiet cannot strand a batch past its deadline.
// Centers still in touch keep their leases: they are working.
func (s *Store) RecallNearDeadline(ctx context.Context, margin, silence time.Duration) (int, error) {
	now := s.now()
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		n, err = s.recall(ctx, tx, `l.task_id IN (SELECT t.id FROM tasks t JOIN batches b ON b.id = t.batch_id
				WHERE b.deadline IS NOT NULL AND b.deadline < ?)
			AND NOT EXISTS (SELECT 1 FROM center_links c WHERE c.center_id = l.center_id AND c.last_contact > ?)`,
			[]any{ts(now.Add(margin)), ts(now.Add(-silence))}, "the batch's deadline is near and the center is silent")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: recall near deadlines: %w", err)
	}
	return n, nil
}

// CancelBatch stops a batch: its unfinished tasks fail (no result, no
// more answers wanted), hub workers' assignments on them end, and centers'
// leases of them are recalled. Answers already given are kept. Cancelling
// twice is an error naming when it was first done.
func (s *Store) CancelBatch(ctx context.Context, batchID string) (work.Batch, error) {
	var b work.Batch
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if b, err = scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE id = ?`, batchID)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if b.CancelledAt != nil {
			return problem.Public(ErrConflict, "batch %s was cancelled at %s", batchID, b.CancelledAt.Format(time.RFC3339))
		}
		if _, err := s.recall(ctx, tx, `l.task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`, []any{batchID}, "the batch was cancelled"); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET state = 'expired' WHERE state = 'active'
			AND task_id IN (SELECT id FROM tasks WHERE batch_id = ?)`, batchID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'failed', holders = 0, updated_at = ?
			WHERE batch_id = ? AND state IN ('open', 'in_progress', 'needs_review')`, ts(now), batchID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET cancelled_at = ? WHERE id = ?`, ts(now), batchID); err != nil {
			return err
		}
		if err := s.tasksFailed(ctx, tx, batchID); err != nil {
			return err
		}
		if err := s.completeIfDone(ctx, tx, batchID, ts(now)); err != nil {
			return err
		}
		b.CancelledAt = &now
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return b, fmt.Errorf("store: batch %s: %w", batchID, ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: cancel batch %s: %w", batchID, err)
	}
	return b, nil
}

// ProjectChange is what may change of a running project; nil fields stay.
type ProjectChange struct {
	Name         *string
	Instructions *string
	MinAnswerMS  *int64
}

// UpdateProject changes a project and tells every center that holds its
// tasks, through their feeds.
func (s *Store) UpdateProject(ctx context.Context, id string, c ProjectChange) (work.Project, error) {
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if len(sets) > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE projects SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
			if err != nil {
				if s.d.isUniqueViolation(err) {
					return problem.Public(ErrConflict, "the client has another project named %q", *c.Name)
				}
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
		}
		var err error
		if p, err = scanProject(tx.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT l.center_id FROM leases l JOIN tasks t ON t.id = l.task_id
			WHERE t.project_id = ? AND l.state = 'active' ORDER BY l.center_id`, id)
		if err != nil {
			return err
		}
		centers, err := collect(rows, func(r scanner) (string, error) {
			var c string
			return c, r.Scan(&c)
		})
		if err != nil {
			return err
		}
		now := ts(s.now())
		for _, c := range centers {
			if err := s.feedTo(ctx, tx, c, "project", FeedProject{ID: p.ID, Name: p.Name, Instructions: p.Instructions, MinAnswerMS: p.MinAnswerMS}, now); err != nil {
				return err
			}
		}
		return nil
	})
	s.projects.Delete(id)
	if errors.Is(err, ErrNotFound) {
		return p, fmt.Errorf("store: project %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: update project %s: %w", id, err)
	}
	return p, nil
}
