package store

import (
	"context"
	"database/sql"
	"errors"
)

// FeedSkill is a feed event: a center worker's skill changed on the hub.
// Dispatch (a suspension when gold answers fall short) and training
// (qualifications, reinstatements) send it, and training applies it at a
// center; it moves to the feed package with the append below.
type FeedSkill struct {
	WorkerID string `json:"worker_id"`
	Kind     string `json:"kind"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Qualified says the worker passed the skill's qualification.
	Qualified bool `json:"qualified,omitempty"`
}

// FeedSkill is feedSkill inside a domain's transaction: dispatch's
// suspensions and training's qualifications, suspensions and
// reinstatements tell the worker's center. It moves with the feed's
// append.
func (s *Store) FeedSkill(ctx context.Context, tx *Tx, workerID, kind, language, status, reason, now string) error {
	return s.feedSkill(ctx, tx.tx, workerID, kind, language, status, reason, now)
}

// feedSkill appends a skill change to the feed of the worker's center,
// when the worker belongs to a village center (not the hub's own).
func (s *Store) feedSkill(ctx context.Context, tx *sql.Tx, workerID, kind, language, status, reason, now string) error {
	var org string
	if err := tx.QueryRowContext(ctx, `SELECT o.id FROM users u JOIN orgs o ON o.id = u.org_id
		WHERE u.id = ? AND o.kind = 'center' AND o.id <> ?`, workerID, builtinCenterOrgID).Scan(&org); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	var qualified bool
	if err := tx.QueryRowContext(ctx, `SELECT qualified FROM worker_skills WHERE worker_id = ? AND kind = ? AND language = ?`,
		workerID, kind, language).Scan(&qualified); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return s.feedTo(ctx, tx, org, "skill", FeedSkill{WorkerID: workerID, Kind: kind, Language: language, Status: status, Reason: reason,
		Qualified: qualified}, now)
}
