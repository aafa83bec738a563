package report

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"banyan/internal/store"
)

// WorkerDay is what a worker's home page shows of their own work.
type WorkerDay struct {
	Answers int
	// Accuracy is the worker's estimated accuracy over their scored
	// skills; Scored is how many scored answers it rests on (0: not
	// measured yet).
	Accuracy float64
	Scored   int
	// Earned is the pay for answers approved since the start of the day,
	// in minor units (paise); Priced is false where pay is not known (a
	// center: prices are the hub's).
	Earned int64
	Priced bool
}

// HubWorkerDay counts a hub worker's answers since a time (the start of
// their day) and reads their accuracy and their pay since then.
func HubWorkerDay(ctx context.Context, st *store.Store, workerID string, since time.Time) (WorkerDay, error) {
	var d WorkerDay
	var alpha, beta sql.NullFloat64
	var scored sql.NullInt64
	r := st.Read(ctx)
	err := r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM assignments WHERE worker_id = ? AND state = 'submitted' AND submitted_at >= ?),
			(SELECT sum(alpha) FROM worker_skills WHERE worker_id = ? AND scored > 0),
			(SELECT sum(beta) FROM worker_skills WHERE worker_id = ? AND scored > 0),
			(SELECT sum(scored) FROM worker_skills WHERE worker_id = ?)`,
		workerID, store.TimeText(since), workerID, workerID, workerID).Scan(&d.Answers, &alpha, &beta, &scored)
	if err != nil {
		return d, fmt.Errorf("report: worker's day: %w", err)
	}
	if scored.Int64 > 0 && alpha.Float64+beta.Float64 > 0 {
		d.Accuracy, d.Scored = alpha.Float64/(alpha.Float64+beta.Float64), int(scored.Int64)
	}
	if err := r.QueryRowContext(ctx, `SELECT coalesce(sum(worker_pay), 0) FROM money_events
		WHERE kind IN ('pay', 'bonus', 'training') AND worker_id = ? AND created_at >= ?`, workerID, store.TimeText(since)).Scan(&d.Earned); err != nil {
		return d, fmt.Errorf("report: worker's day: %w", err)
	}
	d.Priced = true
	return d, nil
}

// CenterWorkerDay counts a center worker's saved answers since a time.
// Accuracy is measured at the hub and not kept at the center.
func CenterWorkerDay(ctx context.Context, st *store.Store, workerID string, since time.Time) (WorkerDay, error) {
	var d WorkerDay
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM center_work WHERE worker_id = ? AND state = 'saved' AND saved_at >= ?`,
		workerID, store.TimeText(since)).Scan(&d.Answers)
	if err != nil {
		return d, fmt.Errorf("report: worker's day: %w", err)
	}
	return d, nil
}
