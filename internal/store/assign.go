package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"banyan/internal/work"
)

// ErrAssignmentClosed means an answer came for an assignment whose task no
// longer takes answers.
var ErrAssignmentClosed = errors.New("task no longer takes answers")

// expireAssignments returns assignments past their time limit to the pool.
// It runs inside the transaction that hands out work, so the pool is exact
// at the moment a task is picked.
func (s *Store) expireAssignments(ctx context.Context, tx *sql.Tx, now string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - (
			SELECT count(*) FROM assignments a
			WHERE a.task_id = tasks.id AND a.state = 'active' AND a.expires_at <= ?)
		WHERE id IN (SELECT task_id FROM assignments WHERE state = 'active' AND expires_at <= ?)`, now, now); err != nil {
		return fmt.Errorf("expire assignments: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE assignments SET state = 'expired' WHERE state = 'active' AND expires_at <= ?`, now); err != nil {
		return fmt.Errorf("expire assignments: %w", err)
	}
	return nil
}

const assignmentCols = `id, task_id, project_id, worker_id, state, answer, created_at, expires_at, submitted_at, duration_ms`

func scanAssignment(r scanner) (work.Assignment, error) {
	var a work.Assignment
	var answer, submitted sql.NullString
	var created, expires string
	var dur sql.NullInt64
	if err := r.Scan(&a.ID, &a.TaskID, &a.ProjectID, &a.WorkerID, &a.State, &answer, &created, &expires, &submitted, &dur); err != nil {
		return work.Assignment{}, err
	}
	if answer.Valid {
		a.Answer = new(work.Answer)
		if err := json.Unmarshal([]byte(answer.String), a.Answer); err != nil {
			return work.Assignment{}, fmt.Errorf("stored answer of assignment %s: %w", a.ID, err)
		}
	}
	a.CreatedAt = parseTS(created)
	a.ExpiresAt = parseTS(expires)
	a.SubmittedAt = parseNullTS(submitted)
	a.DurationMS = dur.Int64
	return a, nil
}

// Claim hands a worker their next task: the worker's live assignment if they
// have one, else the oldest task in the pool that still wants answers and
// that this worker has never held. projectID "" means any project. It
// returns ErrNotFound when there is no work for the worker.
//
// Claim is one write transaction, so under any number of concurrent callers
// a task never has more live assignments than it wants answers, and a
// worker never holds the same task twice (the unique index on task and
// worker backs this up).
func (s *Store) Claim(ctx context.Context, workerID, projectID string) (work.Assignment, work.Task, error) {
	var a work.Assignment
	var t work.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		nowT := s.now()
		now := ts(nowT)
		if err := s.expireAssignments(ctx, tx, now); err != nil {
			return err
		}
		var err error
		a, err = scanAssignment(tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments
			WHERE worker_id = ? AND state = 'active' AND (? = '' OR project_id = ?) ORDER BY id LIMIT 1`,
			workerID, projectID, projectID))
		if err == nil {
			t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, a.TaskID))
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The partial indexes on tasks keep this a short walk from the
		// oldest task in the pool.
		var taskID string
		var seconds int
		q := `SELECT t.id, p.assignment_seconds FROM tasks t JOIN projects p ON p.id = t.project_id
			WHERE t.state IN ('open', 'in_progress') AND t.answers + t.holders < t.wanted
			  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = ?)`
		args := []any{workerID}
		if projectID != "" {
			q += ` AND t.project_id = ?`
			args = append(args, projectID)
		}
		q += ` ORDER BY t.id LIMIT 1` + s.d.lockSkip()
		err = tx.QueryRowContext(ctx, q, args...).Scan(&taskID, &seconds)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no task for worker %s: %w", workerID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		a = work.Assignment{ID: work.NewID(), TaskID: taskID, WorkerID: workerID, State: work.AssignmentActive,
			CreatedAt: nowT, ExpiresAt: nowT.Add(time.Duration(seconds) * time.Second)}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET holders = holders + 1, state = 'in_progress', updated_at = ? WHERE id = ?`,
			now, taskID); err != nil {
			return err
		}
		t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, taskID))
		if err != nil {
			return err
		}
		a.ProjectID = t.ProjectID
		_, err = tx.ExecContext(ctx, `INSERT INTO assignments (id, task_id, project_id, worker_id, state, created_at, expires_at)
			VALUES (?, ?, ?, ?, 'active', ?, ?)`, a.ID, a.TaskID, a.ProjectID, a.WorkerID, now, ts(a.ExpiresAt))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return work.Assignment{}, work.Task{}, err
	}
	if err != nil {
		return work.Assignment{}, work.Task{}, fmt.Errorf("store: claim task for worker %s: %w", workerID, err)
	}
	return a, t, nil
}

// Assignment returns one assignment.
func (s *Store) Assignment(ctx context.Context, id string) (work.Assignment, error) {
	a, err := scanAssignment(s.r.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Assignment{}, fmt.Errorf("store: assignment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return work.Assignment{}, fmt.Errorf("store: assignment %s: %w", id, err)
	}
	return a, nil
}

// Verdict is what the submit logic decides about a task once an answer is
// in: its next state, and its result when it is done.
type Verdict struct {
	State      work.TaskState
	Result     work.Answer
	Confidence float64
	// Wanted is how many answers the task should get in all.
	Wanted int
}

// DecideFunc decides a task from all the answers it holds.
type DecideFunc func(answers []work.Answer) (Verdict, error)

// SubmitOutcome tells the caller what an answer did.
type SubmitOutcome struct {
	// Duplicate is true when this exact answer had already been submitted
	// for the assignment; nothing changed.
	Duplicate bool
	// Counted is false when the answer was kept but came after the task's
	// result was final.
	Counted   bool
	TaskState work.TaskState
}

// Submit records a worker's answer to their assignment and, in the same
// transaction, re-decides the task with decide: settled tasks get their
// result, disagreeing tasks want another answer or go to review. An answer
// on an assignment that has timed out is still kept, and counts while the
// task takes answers. Submitting the same answer twice is harmless.
func (s *Store) Submit(ctx context.Context, assignmentID, workerID string, answer work.Answer, durationMS int64, decide DecideFunc) (SubmitOutcome, error) {
	var out SubmitOutcome
	raw, err := json.Marshal(answer)
	if err != nil {
		return out, fmt.Errorf("store: submit: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		a, err := scanAssignment(tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE id = ?`, assignmentID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && a.WorkerID != workerID) {
			return fmt.Errorf("assignment %s: %w", assignmentID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var state string
		var answers, wanted int
		var batchID string
		if err := tx.QueryRowContext(ctx, `SELECT state, answers, wanted, batch_id FROM tasks WHERE id = ?`, a.TaskID).
			Scan(&state, &answers, &wanted, &batchID); err != nil {
			return err
		}
		out.TaskState = work.TaskState(state)
		if a.State == work.AssignmentSubmitted {
			if a.Answer != nil && reflect.DeepEqual(*a.Answer, answer) {
				out.Duplicate, out.Counted = true, true
				return nil
			}
			return fmt.Errorf("assignment %s already has a different answer: %w", assignmentID, ErrConflict)
		}
		open := !out.TaskState.Final() && out.TaskState != work.TaskNeedsReview
		if a.State == work.AssignmentExpired && !open {
			return fmt.Errorf("assignment %s timed out and its task is %s: %w", assignmentID, state, ErrAssignmentClosed)
		}
		holders := 0
		if a.State == work.AssignmentActive {
			holders = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET state = 'submitted', answer = ?, submitted_at = ?, duration_ms = ? WHERE id = ?`,
			string(raw), now, durationMS, a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET answers = answers + 1, holders = holders - ?, updated_at = ? WHERE id = ?`,
			holders, now, a.TaskID); err != nil {
			return err
		}
		if !open {
			// The result is final already: keep the work, change nothing.
			return nil
		}
		out.Counted = true
		given, err := s.taskAnswers(ctx, tx, a.TaskID)
		if err != nil {
			return err
		}
		v, err := decide(given)
		if err != nil {
			return err
		}
		out.TaskState = v.State
		switch v.State {
		case work.TaskDone:
			return s.finish(ctx, tx, a.TaskID, batchID, v.Result, v.Confidence, len(given), work.SourceAgreement, "", now)
		case work.TaskNeedsReview:
			_, err = tx.ExecContext(ctx, `UPDATE tasks SET state = 'needs_review', updated_at = ? WHERE id = ?`, now, a.TaskID)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE tasks SET wanted = ?, updated_at = ? WHERE id = ?`, max(v.Wanted, wanted), now, a.TaskID)
		}
		return err
	})
	if err != nil {
		return SubmitOutcome{}, fmt.Errorf("store: submit assignment %s: %w", assignmentID, err)
	}
	return out, nil
}

// taskAnswers reads every answer submitted to a task, oldest first.
func (s *Store) taskAnswers(ctx context.Context, tx *sql.Tx, taskID string) ([]work.Answer, error) {
	rows, err := tx.QueryContext(ctx, `SELECT answer FROM assignments WHERE task_id = ? AND state = 'submitted' ORDER BY submitted_at, id`, taskID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r scanner) (work.Answer, error) {
		var raw string
		var a work.Answer
		if err := r.Scan(&raw); err != nil {
			return a, err
		}
		return a, json.Unmarshal([]byte(raw), &a)
	})
}

// TaskAnswers returns every answer submitted to a task, oldest first.
func (s *Store) TaskAnswers(ctx context.Context, taskID string) ([]work.Assignment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+assignmentCols+` FROM assignments
		WHERE task_id = ? AND state = 'submitted' ORDER BY submitted_at, id`, taskID)
	if err != nil {
		return nil, fmt.Errorf("store: answers of task %s: %w", taskID, err)
	}
	return collect(rows, scanAssignment)
}

// finish stores a task's result and marks the task and, when it was the
// last, its batch done.
func (s *Store) finish(ctx context.Context, tx *sql.Tx, taskID, batchID string, result work.Answer, confidence float64, answers int, source, reviewerID, now string) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var reviewer any
	if reviewerID != "" {
		reviewer = reviewerID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO results (task_id, project_id, batch_id, answer, confidence, answers, source, reviewer_id, created_at)
		SELECT id, project_id, batch_id, ?, ?, ?, ?, ?, ? FROM tasks WHERE id = ?`,
		string(raw), confidence, answers, source, reviewer, now, taskID); err != nil {
		return fmt.Errorf("store result: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'done', updated_at = ? WHERE id = ?`, now, taskID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE batches SET tasks_done = tasks_done + 1,
			completed_at = CASE WHEN tasks_done + 1 = tasks THEN ? ELSE completed_at END
		WHERE id = ?`, now, batchID)
	return err
}

// Resolve settles a task by a reviewer's decision. The task must not be
// final; a task waiting for review is the usual case.
func (s *Store) Resolve(ctx context.Context, taskID, reviewerID string, result work.Answer) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state, batchID string
		var answers int
		err := tx.QueryRowContext(ctx, `SELECT state, batch_id, answers FROM tasks WHERE id = ?`, taskID).Scan(&state, &batchID, &answers)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %s: %w", taskID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if work.TaskState(state).Final() {
			return fmt.Errorf("task %s is already %s: %w", taskID, state, ErrConflict)
		}
		return s.finish(ctx, tx, taskID, batchID, result, 1, answers, work.SourceReview, reviewerID, ts(s.now()))
	})
	if err != nil {
		return fmt.Errorf("store: resolve task %s: %w", taskID, err)
	}
	return nil
}
