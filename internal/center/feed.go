package center

import (
	"context"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/store"
)

// The center's appliers of the feed kinds that change its grants: project
// changes and recalls, which the hub's dispatch sends. feedKinds lists
// them with the domains' appliers.

// applyProject keeps a project change the hub sent. A project the center
// has no task of yet arrives with its first grant; only known ones are
// updated.
func applyProject(ctx context.Context, tx *store.Tx, f dispatch.FeedProject, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE center_projects SET instructions = ?, min_answer_ms = ?, updated_at = ? WHERE id = ?`,
		f.Instructions, f.MinAnswerMS, store.TimeText(now), f.ID)
	return err
}

// applyRecall ends the grants of the leases the hub took back: no new work
// starts on them. Work in a worker's hands may still be saved, and goes up
// like any other answer.
func applyRecall(ctx context.Context, tx *store.Tx, f dispatch.FeedRecall, _ time.Time) error {
	for _, id := range f.LeaseIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE lease_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}
