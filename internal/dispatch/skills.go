package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Skill statuses, as worker_skills keeps them: a worker suspended from a
// skill is offered no task of its kind and language.
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
func Skills(ctx context.Context, st *store.Store, workerID string) ([]WorkerSkill, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT worker_id, kind, language, alpha, beta, scored, status, reason, qualified,
			coalesce(ds_accuracy, 0), ds_labels, updated_at
		FROM worker_skills WHERE worker_id = ? ORDER BY kind, language`, workerID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: skills of %s: %w", workerID, err)
	}
	return store.Collect(rows, func(r store.Scanner) (WorkerSkill, error) {
		var k WorkerSkill
		var updated string
		err := r.Scan(&k.WorkerID, &k.Kind, &k.Language, &k.Alpha, &k.Beta, &k.Scored, &k.Status, &k.Reason, &k.Qualified,
			&k.DSAccuracy, &k.DSLabels, &updated)
		k.Accuracy = k.Alpha / (k.Alpha + k.Beta)
		k.UpdatedAt = store.ParseTimeText(updated)
		return k, err
	})
}

// ShiftSkill moves a worker's skill at a kind and language by d, inside tx:
// alpha up and beta down by d, as when a gold answer is scored again d
// better than before (a contest upheld). A worker without that skill is
// left as they are.
func ShiftSkill(ctx context.Context, tx *store.Tx, workerID string, kind work.Kind, language string, d float64, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE worker_skills SET alpha = alpha + ?, beta = beta - ?, updated_at = ?
		WHERE worker_id = ? AND kind = ? AND language = ?`, d, d, now, workerID, string(kind), language)
	return err
}

// FeedSkill is a feed event: a village center worker's skill changed on
// the hub. Dispatch sends it when scored answers put a worker under a
// project's minimum, training when a worker qualifies, is suspended by
// hand or is reinstated; training applies it at the center.
type FeedSkill struct {
	WorkerID string `json:"worker_id"`
	Kind     string `json:"kind"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Qualified says the worker passed the skill's qualification.
	Qualified bool `json:"qualified,omitempty"`
}

// SkillChanged tells the worker's village center, on its feed, that the
// worker's skill at kind and language now has status (and reason), inside
// the transaction that changed it. A worker of no village center (the
// hub's own) has no center to tell.
func SkillChanged(ctx context.Context, tx *store.Tx, workerID, kind, language, status, reason, now string) error {
	center, ok, err := auth.VillageCenterOf(ctx, tx, workerID)
	if err != nil || !ok {
		return err
	}
	var qualified bool
	if err := tx.QueryRowContext(ctx, `SELECT qualified FROM worker_skills WHERE worker_id = ? AND kind = ? AND language = ?`,
		workerID, kind, language).Scan(&qualified); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return feed.Append(ctx, tx, center, "skill", FeedSkill{WorkerID: workerID, Kind: kind, Language: language, Status: status,
		Reason: reason, Qualified: qualified}, now)
}
