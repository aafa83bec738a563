package store

import (
	"context"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// The seams below are what the dispatch package reaches of the domains
// still in this package (projects and their tasks, the feed, the center's
// local store) while it settles answers. Each goes when its domain moves
// out, as said on it.

// ErrAssignmentClosed means an answer came for an assignment whose task no
// longer takes answers. The center's local store (center.go) returns it;
// it moves with that store.
var ErrAssignmentClosed = problem.NewSentinel(problem.Conflict,
	"this assignment timed out and its task no longer takes answers; ask for the next task")

// Skill statuses, as worker_skills keeps them. Dispatch suspends workers;
// training (qualifications) and the feed (a manual suspension) write them
// too, and both still live in this package: the statuses move to dispatch
// once those have moved.
const (
	SkillActive    = "active"
	SkillSuspended = "suspended"
)

// TaskColumns are the columns ScanTask reads, in its order, for a query's
// SELECT or RETURNING list. They move with the project domain.
const TaskColumns = taskCols

// ScanTask reads one task selected with TaskColumns. It moves with the
// project domain.
func ScanTask(r Scanner) (work.Task, error) { return scanTask(r) }

// ProjectColumns are the columns ScanProject reads, in its order. They
// move with the project domain.
const ProjectColumns = projectCols

// ScanProject reads one project selected with ProjectColumns. It moves
// with the project domain.
func ScanProject(r Scanner) (work.Project, error) { return scanProject(r) }

// BatchColumns are the columns ScanBatch reads, in its order, from the
// batches table. They move with the project domain.
const BatchColumns = batchCols

// ScanBatch reads one batch selected with BatchColumns. It moves with the
// project domain.
func ScanBatch(r Scanner) (work.Batch, error) { return scanBatch(r) }

// ForgetProject drops the project's cached read (see Project) after a
// change to it. It moves with the project domain.
func (s *Store) ForgetProject(id string) { s.projects.Delete(id) }

// CompleteIfDone stamps the batch complete, inside the transaction that
// settled or failed its last open task, and tells the client's webhooks.
// It moves with the project domain.
func (s *Store) CompleteIfDone(ctx context.Context, tx *Tx, batchID, now string) error {
	return s.completeIfDone(ctx, tx.tx, batchID, now)
}

// ResultReady tells the client's webhooks of a settled task's result
// (result.ready), inside the transaction that settled it. It moves with
// the project domain.
func (s *Store) ResultReady(ctx context.Context, tx *Tx, taskID string, result work.Answer, confidence float64) error {
	return s.resultReady(ctx, tx.tx, taskID, result, confidence)
}

// TasksFailed tells the client's webhooks of each failed task of a
// cancelled batch (task.failed), inside the transaction that cancelled
// it. It moves with the project domain.
func (s *Store) TasksFailed(ctx context.Context, tx *Tx, batchID string) error {
	return s.tasksFailed(ctx, tx.tx, batchID)
}

// TaskFilesIn lists a task's attachments, by field, inside tx (a lease
// carries them). It moves with the project domain.
func TaskFilesIn(ctx context.Context, tx *Tx, taskID string) ([]TaskFile, error) {
	return taskFiles(ctx, tx.tx, taskID)
}

// WorkedMS is the working time, in milliseconds, between from and to,
// scaled by Options.WorkTimeScale, at most limit (a negative span counts
// as none). The hub's dispatch and the center's local store measure with
// it; it moves with the center's local store, the scale with it.
func (s *Store) WorkedMS(from, to time.Time, limit time.Duration) int64 {
	return s.workedMS(from, to, limit)
}
