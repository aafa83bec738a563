package hub

import (
	"context"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/report"
)

// desk gives the web pages the hub's workers' tasks: the workers of its
// built-in center, through the dispatcher (their dispatch.Desk), and the
// worker's day at the hub.
type desk struct{ *dispatch.Service }

func (d desk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.HubWorkerDay(ctx, d.Store, workerID, since)
}
