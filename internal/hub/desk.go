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
	return web.Task{AssignmentID: o.WorkID, ExpiresAt: o.ExpiresAt, Payload: o.Payload, Files: o.Files,
		Kind: o.Kind, Schema: o.Schema, Instructions: o.Instructions}, nil
}

func (d desk) Answer(ctx context.Context, workerID, assignmentID string, raw []byte) error {
	_, err := d.h.Dispatch.Answer(ctx, dispatch.Submission{WorkID: assignmentID, WorkerID: workerID, Answer: raw})
	return err
}

func (d desk) File(ctx context.Context, workerID, assignmentID, field string) (project.TaskFile, error) {
	return d.h.Dispatch.File(ctx, workerID, assignmentID, field)
}

func (d desk) Pass(ctx context.Context, workerID, assignmentID string) error {
	return d.h.Dispatch.Pass(ctx, workerID, assignmentID)
}

func (d desk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.HubWorkerDay(ctx, d.h.Store, workerID, since)
}
