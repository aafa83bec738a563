package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Paid training time is a money event the training path writes in its own
// transaction (payTraining); it moves with training. The settle path's
// money events (charge, pay, bonus) are the ledger package's.

// payTraining pays an accepted span of training time at an hourly rate
// (minor units per hour; 0 pays nothing), once per span, inside the
// transaction that accepted it.
func payTraining(ctx context.Context, tx *sql.Tx, activityID, workerID string, activeMS, hourly int64, now string) error {
	amount := (activeMS*hourly + 1_800_000) / 3_600_000
	if amount <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, worker_id, currency, worker_pay, created_at)
		VALUES (?, 'training', ?, ?, 'INR', ?, ?) ON CONFLICT (kind, ref) DO NOTHING`, now+":training:"+activityID, activityID, workerID, amount, now)
	if err != nil {
		return fmt.Errorf("pay training: %w", err)
	}
	return nil
}

// FeedWage is a feed event: whether a center's worker is paid under the
// minimum wage per active hour (rates in minor units).
type FeedWage struct {
	WorkerID   string `json:"worker_id"`
	Below      bool   `json:"below"`
	HourlyRate int64  `json:"hourly_rate"`
	Minimum    int64  `json:"minimum"`
}

// boolInt stores a flag as 0 or 1, which every engine takes.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
