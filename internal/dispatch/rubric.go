package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Replies of a respond project with a rubric have no single right text, so
// they are judged rather than matched: one writer per task, and a reply
// either goes to the client as it is or, when it is sampled, waits for a
// reviewer's scores on the rubric first. A passing reply is delivered; a
// failing one is rejected and its task goes back to the pool for another
// writer, who is shown the reviewer's note. Reviews by rubric are the
// hub's: they are never sent to a village center, whose reviewers keep
// checking their fellow workers' saved answers.

// Review reasons of a project with a rubric (beside ReviewSample, a reply
// drawn at the project's review rate).
const (
	// ReviewNewWriter: one of its writer's first replies in the project
	// (work.Quality.ReviewFirst), all of which are reviewed.
	ReviewNewWriter = "new_writer"
	// ReviewRewrite: MaxReplyFailures of the task's replies failed; a
	// reviewer writes or fixes the reply (Resolve, with an answer).
	ReviewRewrite = "rewrite"
)

// MaxReplyFailures is how many of a task's replies may fail review before
// the task stops going back to the pool and waits for a reviewer to write
// its reply, so that a hard task does not loop through writers for ever.
const MaxReplyFailures = 2

// ErrScoresRequired means a task whose reply waits for scores on its
// project's rubric was resolved with an answer instead.
var ErrScoresRequired = problem.NewSentinel(problem.Invalid,
	"scores: required; this task's reply waits to be scored on its project's rubric (send scores and, if it fails, a note)")

// reviewReason says why a task that has just settled goes to review first,
// or "" when its result is delivered at once. A task of a project without
// a rubric goes when draw falls under the review rate (ReviewSample). A
// reply to a project with one goes when it is one of its writer's first
// ReviewFirst replies in the project (ReviewNewWriter; the hub counts them
// here, as they arrive), or else when draw falls under the review rate.
func (s *Service) reviewReason(ctx context.Context, tx *store.Tx, p work.Project, writerID string, draw float64) (string, error) {
	if p.Rubric != nil {
		var replies int
		if err := tx.QueryRowContext(ctx, `INSERT INTO writer_replies (project_id, worker_id, replies) VALUES (?, ?, 1)
			ON CONFLICT (project_id, worker_id) DO UPDATE SET replies = writer_replies.replies + 1 RETURNING replies`,
			p.ID, writerID).Scan(&replies); err != nil {
			return "", fmt.Errorf("count the writer's replies: %w", err)
		}
		if replies <= p.ReviewFirst {
			return ReviewNewWriter, nil
		}
	}
	if draw < p.ReviewRate {
		return ReviewSample, nil
	}
	return "", nil
}

// RubricItem is a reply waiting for a reviewer's scores, as the reviewer
// is shown it: the task's input and instructions, the reply and the
// rubric to score it on.
type RubricItem struct {
	TaskID       string
	ProjectID    string
	ProjectName  string
	Instructions string
	Schema       *work.Schema
	Rubric       work.Rubric
	Payload      json.RawMessage
	Reply        work.Answer
	// Reason is why the reply is reviewed: ReviewNewWriter or
	// ReviewSample.
	Reason string
}

// NextRubricReview returns the oldest reply waiting for scores that
// reviewerID did not write; ErrNoWork when there is none.
func (s *Service) NextRubricReview(ctx context.Context, reviewerID string) (RubricItem, error) {
	return s.rubricItem(ctx, reviewerID, "")
}

// RubricReview returns the reply of task taskID if it is waiting for
// scores and reviewerID did not write it; ErrNoWork if not.
func (s *Service) RubricReview(ctx context.Context, reviewerID, taskID string) (RubricItem, error) {
	return s.rubricItem(ctx, reviewerID, taskID)
}

// rubricItem is the oldest reply waiting for scores that reviewerID did
// not write, of task taskID unless it is "".
func (s *Service) rubricItem(ctx context.Context, reviewerID, taskID string) (RubricItem, error) {
	var it RubricItem
	var payload, reply string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT t.id, t.project_id, t.payload, t.review_reason, a.answer
		FROM projects p JOIN tasks t ON t.project_id = p.id AND t.state = 'needs_review'
		JOIN assignments a ON a.task_id = t.id AND a.state = 'submitted' AND a.flag IS NULL
		WHERE p.rubric IS NOT NULL AND t.review_reason IN (?, ?) AND a.worker_id <> ? AND (? = '' OR t.id = ?)
		ORDER BY t.id LIMIT 1`, ReviewNewWriter, ReviewSample, reviewerID, taskID, taskID).
		Scan(&it.TaskID, &it.ProjectID, &payload, &it.Reason, &reply)
	if errors.Is(err, sql.ErrNoRows) {
		return it, ErrNoWork
	}
	if err != nil {
		return it, fmt.Errorf("dispatch: reply to review: %w", err)
	}
	p, err := s.Project(ctx, it.ProjectID)
	if err != nil {
		return it, err
	}
	it.ProjectName, it.Instructions, it.Schema, it.Rubric = p.Name, p.Instructions, p.Schema, *p.Rubric
	it.Payload = json.RawMessage(payload)
	return it, json.Unmarshal([]byte(reply), &it.Reply)
}

// RubricOutcome is what a reviewer's scores did to a reply and its task.
type RubricOutcome struct {
	Passed bool
	// State is the task's state after: done (the reply delivered), open
	// (back to the pool for another writer) or needs_review (its replies
	// failed MaxReplyFailures times; a reviewer is to write the reply).
	State work.TaskState
	// Reply is the reply that was scored.
	Reply work.Answer
}

// ResolveRubric settles a reply waiting for scores by a reviewer's scores
// on its project's rubric, checked strictly (every criterion, each within
// its scale; see work.Rubric.Judge), and a note, required when the reply
// fails. In one transaction it keeps the review, moves the writer's skill
// (a score of 1 for a pass, 0 for a fail) and then either delivers the
// reply as the task's result, approving or holding its pay as any result's
// (ledger.ApproveOrHold), or rejects it: the reply no longer counts, is
// not paid unless its rejection is overturned (ledger.RejectAtReview), and
// its task goes back to the pool for a writer who has not had it — or,
// after MaxReplyFailures failed replies, waits for a reviewer to write the
// reply.
func (s *Service) ResolveRubric(ctx context.Context, reviewerID, taskID string, scores map[string]int, note string) (RubricOutcome, error) {
	bad := func(format string, args ...any) (RubricOutcome, error) {
		return RubricOutcome{}, problem.New(http.StatusUnprocessableEntity, format, args...)
	}
	t, err := project.Task(ctx, s.Store, taskID)
	if err != nil {
		return RubricOutcome{}, err
	}
	p, err := s.Project(ctx, t.ProjectID)
	if err != nil {
		return RubricOutcome{}, err
	}
	if p.Rubric == nil {
		return bad("scores: project %q has no rubric; resolve its task with an answer", p.Name)
	}
	passed, err := p.Rubric.Judge(scores)
	if err != nil {
		return bad("%v", err)
	}
	note = strings.TrimSpace(note)
	switch {
	case len(note) > work.MaxReviewNote:
		return bad("note: at most %d bytes", work.MaxReviewNote)
	case !passed && note == "":
		return bad("note: required when the reply fails; tell the next writer what to fix")
	}
	rawScores, err := json.Marshal(scores)
	if err != nil {
		return RubricOutcome{}, err
	}
	out := RubricOutcome{Passed: passed}
	err = s.Store.Write(ctx, func(tx *store.Tx) error {
		var state, batchID string
		var reason sql.NullString
		var answers int
		if err := tx.QueryRowContext(ctx, `SELECT state, batch_id, review_reason, answers FROM tasks WHERE id = ?`+tx.ForUpdate(), taskID).
			Scan(&state, &batchID, &reason, &answers); err != nil {
			return err
		}
		if state != string(work.TaskNeedsReview) || (reason.String != ReviewNewWriter && reason.String != ReviewSample) {
			return problem.Public(store.ErrConflict, "task %s has no reply waiting for scores (it is %s)", taskID, state)
		}
		var replyID, writerID, rawReply string
		if err := tx.QueryRowContext(ctx, `SELECT id, worker_id, answer FROM assignments
			WHERE task_id = ? AND state = 'submitted' AND flag IS NULL ORDER BY submitted_at DESC, id DESC LIMIT 1`, taskID).
			Scan(&replyID, &writerID, &rawReply); err != nil {
			return fmt.Errorf("the reply of task %s: %w", taskID, err)
		}
		if writerID == reviewerID {
			return problem.Public(store.ErrConflict, "a reviewer does not score their own reply")
		}
		now := store.TimeText(s.Store.Now())
		passedInt := 0
		if passed {
			passedInt = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rubric_reviews (id, assignment_id, task_id, project_id, batch_id, writer_id, reviewer_id,
				reason, scores, passed, note, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, work.NewID(), replyID, taskID, p.ID, batchID, writerID, reviewerID,
			reason.String, string(rawScores), passedInt, note, now); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(rawReply), &out.Reply); err != nil {
			return err
		}
		if passed {
			out.State = work.TaskDone
			if err := s.scoreWorker(ctx, tx, writerID, p, 1, "review", now); err != nil {
				return err
			}
			return s.finish(ctx, tx, taskID, out.Reply, 1, answers, work.SourceReview, reviewerID, now)
		}
		if err := s.scoreWorker(ctx, tx, writerID, p, 0, "review", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET flag = ? WHERE id = ?`, work.FlagRejected, replyID); err != nil {
			return err
		}
		if err := ledger.RejectAtReview(ctx, tx, replyID, reviewerID, "failed review by rubric: "+note, now); err != nil {
			return fmt.Errorf("reject the reply: %w", err)
		}
		var failed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rubric_reviews WHERE task_id = ? AND passed = 0`, taskID).Scan(&failed); err != nil {
			return err
		}
		if failed >= MaxReplyFailures {
			out.State = work.TaskNeedsReview
			_, err := tx.ExecContext(ctx, `UPDATE tasks SET answers = answers - 1, review_reason = ?, updated_at = ? WHERE id = ?`,
				ReviewRewrite, now, taskID)
			return err
		}
		// Back to the pool for one more reply; the writers who had the
		// task are not offered it again.
		out.State = work.TaskOpen
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'open', answers = answers - 1, wanted = answers - 1 + ?,
			review_reason = NULL, proposed = NULL, updated_at = ? WHERE id = ?`, p.Overlap, now, taskID)
		return err
	})
	if err != nil {
		return RubricOutcome{}, fmt.Errorf("dispatch: score the reply of task %s: %w", taskID, err)
	}
	return out, nil
}

// ReworkNote is the note of the latest review that failed a reply to the
// task, for the writer who takes it next; "" when none failed.
func (s *Service) ReworkNote(ctx context.Context, taskID string) (string, error) {
	var note string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT note FROM rubric_reviews WHERE task_id = ? AND passed = 0
		ORDER BY created_at DESC, id DESC LIMIT 1`, taskID).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dispatch: rework note of task %s: %w", taskID, err)
	}
	return note, nil
}
