package hub

import (
	"context"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/report"
	"banyan/internal/web"
)

// desk gives the web pages the hub's workers' tasks: the workers of its
// built-in center, through the dispatcher (their dispatch.Desk), the
// worker's day at the hub, and their statement, checked against minWage.
type desk struct {
	*dispatch.Service
	minWage int64
}

func (d desk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.HubWorkerDay(ctx, d.Store, workerID, since)
}

func (d desk) Earnings(ctx context.Context, workerID string) (web.Earnings, error) {
	now := d.Store.Now()
	s, err := ledger.RecentStatement(ctx, d.Store, workerID, now, d.minWage)
	return web.Earnings{Statement: s, ComputedAt: now}, err
}
