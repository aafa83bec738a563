package store

import (
	"context"
	"database/sql"
	"encoding/json"
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
// transaction.
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
