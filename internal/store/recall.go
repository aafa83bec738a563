package store

import (
	"context"
	"time"
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
