package store

import (
	"context"
	"database/sql"
	"errors"

	"banyan/internal/work"
)

// The events clients may subscribe to are told to a Notifier — on the
// hub, the webhook package's queue — inside the transaction that causes
// them: a result settling, a batch completing, a cancelled batch's tasks
// failing. The store builds each event's body from its own rows; the
// subscriptions and deliveries are the webhook package's.

// Notifier queues an event for a client's subscriptions inside tx. build
// returns the client, the body and whether there is anything to tell; a
// notifier calls it only when a subscription may exist, so a hub with
// none does no lookups.
type Notifier interface {
	Notify(ctx context.Context, tx *Tx, event string, build func() (clientID string, body any, ok bool, err error)) error
}

// SetNotifier sets who is told of subscribable events. Call it before the
// store serves; a store without one (a village center) tells nobody.
func (s *Store) SetNotifier(n Notifier) { s.notifier = n }

// notify tells the notifier, if any, of event inside tx.
func (s *Store) notify(ctx context.Context, tx *sql.Tx, event string, build func() (string, any, bool, error)) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notify(ctx, &Tx{tx: tx, d: s.d}, event, build)
}

// resultReady tells of result.ready for a settled task (not gold), in its
// transaction.
func (s *Store) resultReady(ctx context.Context, tx *sql.Tx, taskID string, result work.Answer, confidence float64) error {
	const event = "result.ready"
	return s.notify(ctx, tx, event, func() (string, any, bool, error) {
		var clientID, projectID, batchID, external string
		err := tx.QueryRowContext(ctx, `SELECT p.client_id, t.project_id, t.batch_id, coalesce(t.external_id, '') FROM tasks t
			JOIN projects p ON p.id = t.project_id WHERE t.id = ? AND t.gold = 0`, taskID).Scan(&clientID, &projectID, &batchID, &external)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, false, nil
		}
		return clientID, map[string]any{"event": event, "task_id": taskID, "external_id": external, "project_id": projectID,
			"batch_id": batchID, "answer": result, "confidence": confidence}, err == nil, err
	})
}

// tasksFailed tells of task.failed for each task of a cancelled batch.
func (s *Store) tasksFailed(ctx context.Context, tx *sql.Tx, batchID string) error {
	const event = "task.failed"
	rows, err := tx.QueryContext(ctx, `SELECT t.id, p.client_id, t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id
		WHERE t.batch_id = ? AND t.state = 'failed' AND t.gold = 0`, batchID)
	if err != nil {
		return err
	}
	type failed struct{ task, client, project string }
	list, err := collect(rows, func(r scanner) (failed, error) {
		var f failed
		return f, r.Scan(&f.task, &f.client, &f.project)
	})
	if err != nil {
		return err
	}
	for _, f := range list {
		if err := s.notify(ctx, tx, event, func() (string, any, bool, error) {
			return f.client, map[string]any{"event": event, "task_id": f.task, "project_id": f.project, "batch_id": batchID,
				"reason": "the batch was cancelled"}, true, nil
		}); err != nil {
			return err
		}
	}
	return nil
}
