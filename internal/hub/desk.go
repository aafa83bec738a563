package hub

import (
	"context"
	"errors"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/web"
)

// desk gives the web pages the hub's workers' tasks: the workers of its
// built-in center, through the dispatcher.
type desk struct{ h *Hub }

func (d desk) Next(ctx context.Context, workerID string) (web.Task, error) {
	o, err := d.h.Dispatch.Next(ctx, workerID, "")
	if errors.Is(err, dispatch.ErrNoWork) {
		return web.Task{}, web.ErrNoWork
	}
	if err != nil {
		return web.Task{}, err
	}
	t := web.Task{AssignmentID: o.Assignment.ID, ExpiresAt: o.Assignment.ExpiresAt, Payload: o.Task.Payload,
		Kind: o.Project.Kind, Schema: o.Project.Schema, Instructions: o.Project.Instructions}
	if len(o.Project.Schema.Files) > 0 {
		if t.Files, err = project.TaskFiles(ctx, d.h.Store, o.Task.ID); err != nil {
			return web.Task{}, err
		}
	}
	return t, nil
}

func (d desk) Answer(ctx context.Context, workerID, assignmentID string, raw []byte) error {
	_, err := d.h.Dispatch.Submit(ctx, workerID, assignmentID, raw, 0)
	return err
}

func (d desk) File(ctx context.Context, workerID, assignmentID, field string) (project.TaskFile, error) {
	return project.AssignmentFile(ctx, d.h.Store, assignmentID, workerID, field)
}

func (d desk) Pass(ctx context.Context, workerID, assignmentID string) error {
	return d.h.Dispatch.PassAssignment(ctx, workerID, assignmentID)
}

func (d desk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.HubWorkerDay(ctx, d.h.Store, workerID, since)
}
