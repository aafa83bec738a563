package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/work"
)

// Skill statuses.
const (
	SkillActive    = "active"
	SkillSuspended = "suspended"
)

// WorkerSkill is a worker's standing at one kind of task in one language.
type WorkerSkill struct {
	WorkerID  string  `json:"worker_id"`
	Kind      string  `json:"kind"`
	Language  string  `json:"language"`
	Accuracy  float64 `json:"accuracy"`
	Alpha     float64 `json:"alpha"`
	Beta      float64 `json:"beta"`
	Scored    int     `json:"scored"`
	Status    string  `json:"status"`
	Reason    string  `json:"reason,omitempty"`
	Qualified bool    `json:"qualified"`
	// DSAccuracy and DSLabels are what the last re-fit estimated and from
	// how many labels; they refine Accuracy when answers are weighed.
	DSAccuracy float64   `json:"ds_accuracy,omitempty"`
	DSLabels   int       `json:"ds_labels,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Skills lists a worker's skills.
func (s *Store) Skills(ctx context.Context, workerID string) ([]WorkerSkill, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT worker_id, kind, language, alpha, beta, scored, status, reason, qualified,
			coalesce(ds_accuracy, 0), ds_labels, updated_at
		FROM worker_skills WHERE worker_id = ? ORDER BY kind, language`, workerID)
	if err != nil {
		return nil, fmt.Errorf("store: skills of %s: %w", workerID, err)
	}
	return collect(rows, func(r scanner) (WorkerSkill, error) {
		var k WorkerSkill
		var updated string
		err := r.Scan(&k.WorkerID, &k.Kind, &k.Language, &k.Alpha, &k.Beta, &k.Scored, &k.Status, &k.Reason, &k.Qualified,
			&k.DSAccuracy, &k.DSLabels, &updated)
		k.Accuracy = k.Alpha / (k.Alpha + k.Beta)
		k.UpdatedAt = parseTS(updated)
		return k, err
	})
}

// ShiftSkill moves a worker's skill at a kind and language by d, inside tx:
// alpha up and beta down by d, as when a gold answer is scored again d
// better than before (a contest upheld). A worker without that skill is
// left as they are.
func ShiftSkill(ctx context.Context, tx *Tx, workerID string, kind work.Kind, language string, d float64, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE worker_skills SET alpha = alpha + ?, beta = beta - ?, updated_at = ?
		WHERE worker_id = ? AND kind = ? AND language = ?`, d, d, now, workerID, string(kind), language)
	return err
}

// FeedSkill is a feed event: a center worker's skill changed on the hub.
// It is declared here because the settle path that suspends a worker
// (assign.go) sends it too; it moves to training, which applies it at a
// center, once the settle path leaves the store.
type FeedSkill struct {
	WorkerID string `json:"worker_id"`
	Kind     string `json:"kind"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Qualified says the worker passed the skill's qualification.
	Qualified bool `json:"qualified,omitempty"`
}

// FeedSkill is feedSkill inside a domain's transaction: training's
// qualifications, suspensions and reinstatements tell the worker's center
// as the settle path's suspensions do. It moves out of the store with the
// settle path.
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
