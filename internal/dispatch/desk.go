package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Desk is the one answer path: where a worker's next task comes from and
// where their answer goes. Service implements it on the hub, over
// assignments; a village center's local store (center.Local) implements
// it over the tasks the center leased. The REST API, the worker desk's
// pages and a center's LAN API call it, whichever of the two serves them.
type Desk interface {
	// Next returns the worker's task in hand, or their next one;
	// projectID "" means any project. It returns ErrNoWork when there is
	// none.
	Next(ctx context.Context, workerID, projectID string) (Offer, error)
	// Answer validates the worker's answer against the project's schema
	// and records it. The working time is measured from the offer's own
	// row; the submission carries no time but what the worker's device
	// reports, as information. A wrong answer is a *work.AnswerError; work
	// that is not the worker's is store.ErrNotFound; work that no longer
	// takes answers may be ErrAssignmentClosed.
	Answer(ctx context.Context, s Submission) (AnswerStatus, error)
	// File returns an attachment of a task in the worker's hands.
	File(ctx context.Context, workerID, workID, field string) (project.TaskFile, error)
	// Pass gives a task in the worker's hands back unanswered; they are
	// not offered it again.
	Pass(ctx context.Context, workerID, workID string) error
}

// Service is the hub's Desk.
var _ Desk = (*Service)(nil)

// Offer is a task as a worker is shown it: its input, its attachments and
// how to answer it. There is no task id: task ids are UUIDv7 and carry
// their upload time, which would tell a gold task (uploaded with its gold
// set) from a task of the batch beside it. WorkID, made as the task is
// handed out, is the worker's handle.
type Offer struct {
	// WorkID is an assignment on the hub, the center's own work id at a
	// center.
	WorkID    string
	ExpiresAt time.Time
	Payload   json.RawMessage
	Files     []project.TaskFile
	// ProjectID, Kind, Schema and Instructions are the task's project:
	// how to answer it.
	ProjectID    string
	Kind         work.Kind
	Schema       *work.Schema
	Instructions string
	// ReworkNote is, on a task whose earlier reply failed review by
	// rubric, the reviewer's note for the writer who takes it now.
	ReworkNote string
}

// Submission is a worker's answer as it arrives: to which work, from whom,
// and the answer's JSON, not yet validated. It carries no offer time: each
// Desk measures the working time from its own row of the offer.
type Submission struct {
	// WorkID is an assignment on the hub, the center's own work id at a
	// center.
	WorkID   string
	WorkerID string
	// Answer is the JSON of a work.Answer.
	Answer json.RawMessage
	// ReportedMS is the time the worker's device says the answer took. It
	// is kept as information only: no check, pay or report reads it.
	ReportedMS int64
}

// AnswerStatus is what a worker is told of their answer.
type AnswerStatus string

// Answer statuses. The reply is the same for gold and ordinary tasks, so
// it cannot be used to tell them apart.
const (
	// AnswerAccepted: the answer counts. At a village center it means
	// saved there, committed with its outbox record, on its way to the hub.
	AnswerAccepted AnswerStatus = "accepted"
	// AnswerDuplicate: this exact answer was recorded before; nothing
	// changed.
	AnswerDuplicate AnswerStatus = "duplicate"
	// AnswerTooFast: kept, flagged, and not counted: it came faster than
	// the project's floor.
	AnswerTooFast AnswerStatus = "too_fast"
	// AnswerLate: kept and not counted: the task's result was final
	// already, or the assignment had timed out and the task had no room
	// for it.
	AnswerLate AnswerStatus = "late"
)

// Status is what the worker is told of an answer with this outcome.
func (o SubmitOutcome) Status() AnswerStatus {
	switch {
	case o.Duplicate:
		return AnswerDuplicate
	case o.Flag == work.FlagTooFast:
		return AnswerTooFast
	case !o.Counted:
		return AnswerLate
	}
	return AnswerAccepted
}

// Next gives the worker their next task, with its attachments; projectID
// "" means any project.
func (s *Service) Next(ctx context.Context, workerID, projectID string) (Offer, error) {
	a, t, err := s.Claim(ctx, workerID, projectID, rand.Float64())
	if errors.Is(err, store.ErrNotFound) {
		return Offer{}, ErrNoWork
	}
	if err != nil {
		return Offer{}, err
	}
	p, err := s.Project(ctx, t.ProjectID)
	if err != nil {
		return Offer{}, err
	}
	o := Offer{WorkID: a.ID, ExpiresAt: a.ExpiresAt, Payload: t.Payload,
		ProjectID: p.ID, Kind: p.Kind, Schema: p.Schema, Instructions: p.Instructions}
	if len(p.Schema.Files) > 0 {
		if o.Files, err = project.TaskFiles(ctx, s.Store, t.ID); err != nil {
			return Offer{}, err
		}
	}
	if p.Rubric != nil {
		if o.ReworkNote, err = s.ReworkNote(ctx, t.ID); err != nil {
			return Offer{}, err
		}
	}
	return o, nil
}

// Answer records a hub worker's answer to their assignment (see Submit)
// and says what they are told of it.
func (s *Service) Answer(ctx context.Context, in Submission) (AnswerStatus, error) {
	out, err := s.Submit(ctx, in)
	if err != nil {
		return "", err
	}
	return out.Status(), nil
}

// Submit validates a hub worker's answer to their assignment and records
// it, returning all it did. A bad answer is rejected with a
// *work.AnswerError before anything is written. The working time is
// measured from the assignment's own timestamp (see Record).
func (s *Service) Submit(ctx context.Context, in Submission) (SubmitOutcome, error) {
	a, err := s.Assignment(ctx, in.WorkID)
	if err != nil {
		return SubmitOutcome{}, err
	}
	if a.WorkerID != in.WorkerID {
		return SubmitOutcome{}, fmt.Errorf("assignment %s: %w", in.WorkID, store.ErrNotFound)
	}
	p, err := s.Project(ctx, a.ProjectID)
	if err != nil {
		return SubmitOutcome{}, err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, in.Answer)
	if err != nil {
		return SubmitOutcome{}, err
	}
	return s.Record(ctx, SubmitArgs{Project: p, AssignmentID: in.WorkID, WorkerID: in.WorkerID, Answer: answer,
		OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, ReportedMS: max(in.ReportedMS, 0), SampleDraw: rand.Float64()}, Decider(p))
}

// File returns the attachment in field of the task a worker's live
// assignment is for.
func (s *Service) File(ctx context.Context, workerID, assignmentID, field string) (project.TaskFile, error) {
	return project.AssignmentFile(ctx, s.Store, assignmentID, workerID, field)
}

// Pass gives a worker's live assignment back to the pool unanswered: they
// passed on it (a disturbing item past their shift's cap). The worker is
// not offered that task again.
func (s *Service) Pass(ctx context.Context, workerID, assignmentID string) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		var taskID string
		err := tx.QueryRowContext(ctx, `UPDATE assignments SET state = 'expired'
			WHERE id = ? AND worker_id = ? AND state = 'active' RETURNING task_id`, assignmentID, workerID).Scan(&taskID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("live assignment %s: %w", assignmentID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - 1 WHERE id = ? AND holders > 0`, taskID)
		return err
	})
	if err != nil {
		return fmt.Errorf("dispatch: pass assignment: %w", err)
	}
	return nil
}
