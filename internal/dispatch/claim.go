package dispatch

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// sweepEvery is how often handing out work first returns timed-out
// assignments and leases to the pool. Sweeping on every claim kept the
// pool exact to the microsecond at the cost of four statements a claim;
// a place that timed out now waits up to this long to be handed out again.
const sweepEvery = time.Second

// sweepDue says whether a claim at now should sweep, and if so notes that
// it did. A clock that went back sweeps at once.
func (s *Service) sweepDue(now time.Time) bool {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if now.Sub(s.swept) < sweepEvery && !now.Before(s.swept) {
		return false
	}
	s.swept = now
	return true
}

// expireAssignments returns assignments past their time limit to the pool.
// It runs inside a transaction that hands out work (see sweepDue).
func expireAssignments(ctx context.Context, tx *store.Tx, now string) error {
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

const assignmentCols = `id, task_id, project_id, worker_id, state, answer, created_at, expires_at, submitted_at, duration_ms, flag`

func scanAssignment(r store.Scanner) (work.Assignment, error) {
	var a work.Assignment
	var answer, submitted sql.NullString
	var created, expires string
	var dur sql.NullInt64
	var flag sql.NullString
	if err := r.Scan(&a.ID, &a.TaskID, &a.ProjectID, &a.WorkerID, &a.State, &answer, &created, &expires, &submitted, &dur, &flag); err != nil {
		return work.Assignment{}, err
	}
	if answer.Valid {
		a.Answer = new(work.Answer)
		if err := json.Unmarshal([]byte(answer.String), a.Answer); err != nil {
			return work.Assignment{}, fmt.Errorf("stored answer of assignment %s: %w", a.ID, err)
		}
	}
	a.CreatedAt = store.ParseTimeText(created)
	a.ExpiresAt = store.ParseTimeText(expires)
	a.SubmittedAt = store.ParseNullTimeText(submitted)
	a.DurationMS = dur.Int64
	a.Flag = flag.String
	return a, nil
}

// Claim hands a worker their next task: the worker's live assignment if they
// have one, else the task due first in the pool (earliest effective due,
// then oldest; see project.DueRule) that still wants answers and that this
// worker has never held, in a project whose skill the worker is not
// suspended from. projectID "" means any project. When the chosen
// task's project mixes in gold (gold_ratio) and goldDraw, a number drawn
// uniformly from [0, 1) by the caller, falls under the ratio, a gold task of
// that project the worker has not seen is handed out instead. It returns
// store.ErrNotFound when there is no work for the worker.
//
// Claim is one write transaction, so under any number of concurrent callers
// a task never has more live assignments than it wants answers, and a
// worker never holds the same task twice (the unique index on task and
// worker backs this up).
func (s *Service) Claim(ctx context.Context, workerID, projectID string, goldDraw float64) (work.Assignment, work.Task, error) {
	var a work.Assignment
	var t work.Task
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		nowT := s.Store.Now()
		now := store.TimeText(nowT)
		if s.sweepDue(nowT) {
			if err := expireAssignments(ctx, tx, now); err != nil {
				return err
			}
			if err := s.expireLeases(ctx, tx, store.TimeText(nowT.Add(-s.leaseGrace()))); err != nil {
				return err
			}
		}
		// One query asks both whether the worker holds a live assignment
		// and whether any of their skills are restricted (suspended, or
		// not yet qualified where a qualification exists).
		var live sql.NullString
		var restricted int
		if err := tx.QueryRowContext(ctx, `SELECT
				(SELECT id FROM assignments WHERE worker_id = ? AND state = 'active' AND (? = '' OR project_id = ?) ORDER BY id LIMIT 1),
				(SELECT count(*) FROM worker_skills WHERE worker_id = ? AND status = 'suspended') +
				(SELECT count(*) FROM courses c WHERE c.purpose = 'qualification' AND NOT EXISTS (
					SELECT 1 FROM worker_skills s WHERE s.worker_id = ? AND s.kind = c.kind AND s.language = c.language AND s.qualified = 1))`,
			workerID, projectID, projectID, workerID, workerID).Scan(&live, &restricted); err != nil {
			return err
		}
		var err error
		if live.Valid {
			if a, err = scanAssignment(tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE id = ?`, live.String)); err != nil {
				return err
			}
			t, err = project.ScanTask(tx.QueryRowContext(ctx, `SELECT `+project.TaskColumns+` FROM tasks WHERE id = ?`, a.TaskID))
			return err
		}
		pick, err := pickTask(ctx, tx, workerID, projectID, restricted > 0)
		if err != nil {
			return err
		}
		if pick.goldRatio > 0 && goldDraw < pick.goldRatio {
			var goldID string
			err := tx.QueryRowContext(ctx, `SELECT t.id FROM tasks t
				WHERE t.project_id = ? AND t.gold = 1
				  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = ?)
				ORDER BY random() LIMIT 1`, pick.projectID, workerID).Scan(&goldID)
			if err == nil {
				pick.taskID = goldID
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		a = work.Assignment{ID: work.NewID(), TaskID: pick.taskID, ProjectID: pick.projectID, WorkerID: workerID,
			State: work.AssignmentActive, CreatedAt: nowT, ExpiresAt: nowT.Add(time.Duration(pick.seconds) * time.Second)}
		t, err = project.ScanTask(tx.QueryRowContext(ctx, `UPDATE tasks SET holders = holders + 1, state = 'in_progress', updated_at = ?
			WHERE id = ? RETURNING `+project.TaskColumns, now, pick.taskID))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO assignments (id, task_id, project_id, worker_id, state, created_at, expires_at)
			VALUES (?, ?, ?, ?, 'active', ?, ?)`, a.ID, a.TaskID, a.ProjectID, a.WorkerID, now, store.TimeText(a.ExpiresAt))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return work.Assignment{}, work.Task{}, err
	}
	if err != nil {
		return work.Assignment{}, work.Task{}, fmt.Errorf("dispatch: claim task for worker %s: %w", workerID, err)
	}
	return a, t, nil
}

type picked struct {
	taskID, projectID string
	seconds           int
	goldRatio         float64
	due               int64
}

// pickTask finds the pool task due first for the worker. The common case,
// a worker with no restriction, is one query that walks the pool index
// (tasks_pool, or tasks_project_pool for one project) from its earliest
// end. A worker suspended from a skill, or not yet qualified for a skill
// that has a qualification, may do only some projects: the first task the
// worker may take of each is read unlocked, and the projects are tried in
// the order of those tasks, so the order holds across projects too.
func pickTask(ctx context.Context, tx *store.Tx, workerID, projectID string, restricted bool) (picked, error) {
	const pool = `SELECT t.id, p.id, p.assignment_seconds, p.gold_ratio, t.due FROM tasks t JOIN projects p ON p.id = t.project_id
		WHERE t.state IN ('open', 'in_progress') AND t.gold = 0 AND t.wanted - t.answers - t.holders > 0
		  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = ?)`
	// first is the task due first in project ("" for any), locked (on
	// PostgreSQL, skipping tasks other claims hold) when lock is set.
	first := func(project string, lock bool) (picked, error) {
		q, args := pool, []any{workerID}
		if project != "" {
			q += ` AND t.project_id = ?`
			args = append(args, project)
		}
		q += ` ORDER BY t.due, t.id LIMIT 1`
		if lock {
			q += tx.LockSkip("t")
		}
		var pk picked
		err := tx.QueryRowContext(ctx, q, args...).Scan(&pk.taskID, &pk.projectID, &pk.seconds, &pk.goldRatio, &pk.due)
		if errors.Is(err, sql.ErrNoRows) {
			return pk, fmt.Errorf("no task for worker %s: %w", workerID, store.ErrNotFound)
		}
		return pk, err
	}
	if !restricted {
		return first(projectID, true)
	}
	rows, err := tx.QueryContext(ctx, `SELECT p.id FROM projects p
		WHERE (? = '' OR p.id = ?)
		  AND NOT EXISTS (SELECT 1 FROM worker_skills s WHERE s.worker_id = ? AND s.kind = p.kind
		                  AND s.language = p.language AND s.status = 'suspended')
		  AND (NOT EXISTS (SELECT 1 FROM courses c WHERE c.purpose = 'qualification' AND c.kind = p.kind AND c.language = p.language)
		       OR EXISTS (SELECT 1 FROM worker_skills s WHERE s.worker_id = ? AND s.kind = p.kind
		                  AND s.language = p.language AND s.qualified = 1))
		ORDER BY p.id`, projectID, projectID, workerID, workerID)
	if err != nil {
		return picked{}, err
	}
	projects, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return picked{}, err
	}
	var heads []picked
	for _, id := range projects {
		pk, err := first(id, false)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return picked{}, err
		}
		heads = append(heads, pk)
	}
	slices.SortFunc(heads, func(a, b picked) int {
		return cmp.Or(cmp.Compare(a.due, b.due), strings.Compare(a.taskID, b.taskID))
	})
	for _, h := range heads {
		pk, err := first(h.projectID, true)
		if !errors.Is(err, store.ErrNotFound) {
			return pk, err
		}
	}
	return picked{}, fmt.Errorf("no task for worker %s: %w", workerID, store.ErrNotFound)
}

// Assignment returns one assignment.
func (s *Service) Assignment(ctx context.Context, id string) (work.Assignment, error) {
	a, err := scanAssignment(s.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Assignment{}, fmt.Errorf("dispatch: assignment %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return work.Assignment{}, fmt.Errorf("dispatch: assignment %s: %w", id, err)
	}
	return a, nil
}
