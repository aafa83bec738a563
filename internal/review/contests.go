// Package review owns what is checked after workers answer: gold answers
// a worker got wrong and their contests, a village center's reviews of its
// workers' answers (reviews.go: born at the center, received at the hub),
// and the batch quality report a client reads (the blind review sample's
// accuracy with its interval, gold pass rates, agreement). The review
// queue and blind audits are still written by dispatch's settle path
// (settle.go), as tasks go to review and reviewers resolve them.
package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// GoldMiss is a gold answer of a worker's that was not fully right, shown
// to the worker so they can learn from it or contest it.
type GoldMiss struct {
	AssignmentID string          `json:"assignment_id"`
	Payload      json.RawMessage `json:"payload"`
	Given        work.Answer     `json:"given"`
	Expected     work.Answer     `json:"expected"`
	Score        float64         `json:"score"`
	Contest      string          `json:"contest,omitempty"` // the contest's state, if contested
	SubmittedAt  time.Time       `json:"submitted_at"`
}

// GoldMisses lists a worker's gold answers that were not fully right,
// newest first.
func GoldMisses(ctx context.Context, st *store.Store, workerID string, limit int) ([]GoldMiss, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT a.id, t.payload, a.answer, g.answer, a.score, coalesce(c.state, ''), a.submitted_at
		FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN gold g ON g.task_id = a.task_id
		LEFT JOIN contests c ON c.assignment_id = a.id
		WHERE a.worker_id = ? AND a.state = 'submitted' AND a.score < 1
		ORDER BY a.submitted_at DESC LIMIT ?`, workerID, limit)
	if err != nil {
		return nil, fmt.Errorf("review: gold misses: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (GoldMiss, error) {
		var m GoldMiss
		var payload, given, expected, submitted string
		if err := r.Scan(&m.AssignmentID, &payload, &given, &expected, &m.Score, &m.Contest, &submitted); err != nil {
			return m, err
		}
		m.Payload = json.RawMessage(payload)
		m.SubmittedAt = store.ParseTimeText(submitted)
		if err := json.Unmarshal([]byte(given), &m.Given); err != nil {
			return m, err
		}
		return m, json.Unmarshal([]byte(expected), &m.Expected)
	})
}

// Contest is a worker's challenge of a gold answer.
type Contest struct {
	ID           string          `json:"id"`
	AssignmentID string          `json:"assignment_id"`
	TaskID       string          `json:"task_id"`
	ProjectID    string          `json:"project_id"`
	WorkerID     string          `json:"worker_id"`
	Reason       string          `json:"reason"`
	State        string          `json:"state"`
	Note         string          `json:"note,omitempty"`
	Payload      json.RawMessage `json:"payload"`
	Given        work.Answer     `json:"given"`
	Expected     work.Answer     `json:"expected"`
	CreatedAt    time.Time       `json:"created_at"`
}

// OpenContest records a worker's contest of one of their gold answers.
func OpenContest(ctx context.Context, st *store.Store, assignmentID, workerID, reason string) (Contest, error) {
	var c Contest
	err := st.Write(ctx, func(tx *store.Tx) error {
		var score sql.NullFloat64
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT a.worker_id, a.task_id, a.project_id, a.score FROM assignments a
			JOIN gold g ON g.task_id = a.task_id WHERE a.id = ? AND a.state = 'submitted'`, assignmentID).
			Scan(&owner, &c.TaskID, &c.ProjectID, &score)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != workerID) {
			return fmt.Errorf("no scored gold answer %s of yours: %w", assignmentID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if score.Float64 >= 1 {
			return problem.Public(store.ErrConflict, "answer %s was marked right; there is nothing to contest", assignmentID)
		}
		c.ID, c.AssignmentID, c.WorkerID, c.Reason, c.State, c.CreatedAt = work.NewID(), assignmentID, workerID, reason, "open", st.Now()
		_, err = tx.ExecContext(ctx, `INSERT INTO contests (id, assignment_id, task_id, project_id, worker_id, reason, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'open', ?)`, c.ID, assignmentID, c.TaskID, c.ProjectID, workerID, reason, store.TimeText(c.CreatedAt))
		if tx.IsUniqueViolation(err) {
			return problem.Public(store.ErrConflict, "answer %s is contested already", assignmentID)
		}
		return err
	})
	if err != nil {
		return Contest{}, fmt.Errorf("review: contest: %w", err)
	}
	return c, nil
}

// Contests lists contests in a state, oldest first, with what a reviewer
// needs to decide them.
func Contests(ctx context.Context, st *store.Store, state string, p store.Page) ([]Contest, error) {
	return contests(ctx, st, `c.state = ? AND c.id > ? ORDER BY c.id LIMIT ?`, state, p.After, p.Limit)
}

// ContestByID returns one contest.
func ContestByID(ctx context.Context, st *store.Store, id string) (Contest, error) {
	cs, err := contests(ctx, st, `c.id = ?`, id)
	if err != nil {
		return Contest{}, err
	}
	if len(cs) == 0 {
		return Contest{}, fmt.Errorf("review: contest %s: %w", id, store.ErrNotFound)
	}
	return cs[0], nil
}

func contests(ctx context.Context, st *store.Store, where string, args ...any) ([]Contest, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT c.id, c.assignment_id, c.task_id, c.project_id, c.worker_id, c.reason, c.state, c.note,
			t.payload, a.answer, g.answer, c.created_at
		FROM contests c JOIN tasks t ON t.id = c.task_id JOIN assignments a ON a.id = c.assignment_id JOIN gold g ON g.task_id = c.task_id
		WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("review: list contests: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (Contest, error) {
		var c Contest
		var payload, given, expected, created string
		if err := r.Scan(&c.ID, &c.AssignmentID, &c.TaskID, &c.ProjectID, &c.WorkerID, &c.Reason, &c.State, &c.Note,
			&payload, &given, &expected, &created); err != nil {
			return c, err
		}
		c.Payload, c.CreatedAt = json.RawMessage(payload), store.ParseTimeText(created)
		if err := json.Unmarshal([]byte(given), &c.Given); err != nil {
			return c, err
		}
		return c, json.Unmarshal([]byte(expected), &c.Expected)
	})
}

// DecideContest closes an open contest. When the reviewer upholds it, the
// gold answer becomes corrected and every answer the gold task was given
// is re-scored against it, each worker's skill moved by the difference.
func DecideContest(ctx context.Context, st *store.Store, contestID, reviewerID string, upheld bool, corrected *work.Answer, note string) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		var taskID, projectID, state string
		err := tx.QueryRowContext(ctx, `SELECT task_id, project_id, state FROM contests WHERE id = ?`, contestID).Scan(&taskID, &projectID, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("contest %s: %w", contestID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state != "open" {
			return problem.Public(store.ErrConflict, "contest %s is %s already", contestID, state)
		}
		now := store.TimeText(st.Now())
		newState := "rejected"
		if upheld {
			newState = "upheld"
			if err := correctGold(ctx, st, tx, taskID, projectID, *corrected, now); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE contests SET state = ?, decided_by = ?, note = ?, decided_at = ? WHERE id = ?`,
			newState, reviewerID, note, now, contestID)
		return err
	})
	if err != nil {
		return fmt.Errorf("review: decide contest: %w", err)
	}
	return nil
}

func correctGold(ctx context.Context, st *store.Store, tx *store.Tx, taskID, projectID string, corrected work.Answer, now string) error {
	p, err := project.Project(ctx, st, projectID)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(corrected)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE gold SET answer = ? WHERE task_id = ?`, string(raw), taskID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, worker_id, answer, score FROM assignments
		WHERE task_id = ? AND state = 'submitted' AND score IS NOT NULL ORDER BY worker_id, id`, taskID)
	if err != nil {
		return err
	}
	type rescore struct {
		id, worker string
		old, new   float64
	}
	var changes []rescore
	err = store.EachRow(rows, func(r store.Scanner) error {
		var c rescore
		var given string
		if err := r.Scan(&c.id, &c.worker, &given, &c.old); err != nil {
			return err
		}
		var a work.Answer
		if err := json.Unmarshal([]byte(given), &a); err != nil {
			return err
		}
		c.new = work.Score(p.Kind, p.Schema, p.MaxTextError, corrected, a)
		changes = append(changes, c)
		return nil
	})
	if err != nil {
		return err
	}
	// In worker order (the query's), as every transaction that writes
	// several workers' skills takes them, so two never deadlock.
	for _, c := range changes {
		if c.new == c.old {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET score = ? WHERE id = ?`, c.new, c.id); err != nil {
			return err
		}
		if err := dispatch.ShiftSkill(ctx, tx, c.worker, p.Kind, p.Language, c.new-c.old, now); err != nil {
			return err
		}
	}
	return nil
}
