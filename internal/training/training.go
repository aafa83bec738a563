// Package training owns how workers learn and prove a skill: courses and
// their items, attempts at them and the scoring of each answer,
// qualifications that grant a skill (and a hand suspension or
// reinstatement of one), the course sessions a worker's requests keep,
// and the training time declared or counted in them, checked against the
// worker's other time and paid. At a village center the same rules run on
// the center's copy of the courses; what is born there (answers to course
// items, spans of time) goes up through the outbox, and the hub scores
// qualifications and sends the verdicts and skills back down the feed.
//
// The package holds its rules and its SQL. It appends to a center's feed
// with feed.Append and tells a center of a skill change through dispatch
// (SkillChanged), which owns workers' skills; it reaches what is still the
// store's (the outbox, the uplink's once-only receipt) through the store's
// exported seams.
package training

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// ErrCoolingDown means a worker must wait before another qualification
// attempt.
var ErrCoolingDown = problem.NewSentinel(problem.Conflict, "cooling down after a failed attempt")

// CourseItemIn is one item of a course being loaded.
type CourseItemIn struct {
	Payload     []byte
	Answer      []byte // canonical JSON
	Explanation string
}

// CreateCourse stores a course and its items in one transaction, and sends
// it down every village center's feed.
func CreateCourse(ctx context.Context, st *store.Store, c work.Course, items iter.Seq2[CourseItemIn, error]) (work.Course, error) {
	schema, err := json.Marshal(c.Schema)
	if err != nil {
		return work.Course{}, err
	}
	c.ID, c.CreatedAt = work.NewID(), st.Now()
	err = st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO courses (id, name, purpose, kind, language, schema, instructions,
				pass_mark, cooldown_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Purpose, string(c.Kind), c.Language, string(schema), c.Instructions, c.PassMark, c.CooldownSeconds, store.TimeText(c.CreatedAt))
		if tx.IsUniqueViolation(err) {
			return problem.Public(store.ErrConflict, "a course named %q, or a qualification for %s in %q, exists already", c.Name, c.Kind, c.Language)
		}
		if err != nil {
			return err
		}
		for it, err := range items {
			if err != nil {
				return err
			}
			c.Items++
			if _, err := tx.ExecContext(ctx, `INSERT INTO course_items (id, course_id, seq, payload, answer, explanation) VALUES (?, ?, ?, ?, ?, ?)`,
				work.NewID(), c.ID, c.Items, string(it.Payload), string(it.Answer), it.Explanation); err != nil {
				return err
			}
		}
		if c.Items == 0 {
			return fmt.Errorf("the course has no items")
		}
		if _, err = tx.ExecContext(ctx, `UPDATE courses SET items = ? WHERE id = ?`, c.Items, c.ID); err != nil {
			return err
		}
		return feedCourse(ctx, st, tx, c.ID)
	})
	if err != nil {
		return work.Course{}, fmt.Errorf("training: create course: %w", err)
	}
	return c, nil
}

const courseCols = `id, name, purpose, kind, language, schema, instructions, pass_mark, cooldown_seconds, items, created_at`

func scanCourse(r store.Scanner) (work.Course, error) {
	var c work.Course
	var kind, schema, created string
	if err := r.Scan(&c.ID, &c.Name, &c.Purpose, &kind, &c.Language, &schema, &c.Instructions, &c.PassMark,
		&c.CooldownSeconds, &c.Items, &created); err != nil {
		return c, err
	}
	c.Kind = work.Kind(kind)
	c.CreatedAt = store.ParseTimeText(created)
	sc, err := work.DecodeSchema(c.Kind, []byte(schema))
	c.Schema = sc
	return c, err
}

// Course returns one course.
func Course(ctx context.Context, st *store.Store, id string) (work.Course, error) {
	c, err := scanCourse(st.Read(ctx).QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("training: course %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("training: course %s: %w", id, err)
	}
	return c, nil
}

// Courses lists every course by id.
func Courses(ctx context.Context, st *store.Store, p store.Page) ([]work.Course, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("training: list courses: %w", err)
	}
	return store.Collect(rows, scanCourse)
}

const attemptCols = `a.id, a.course_id, a.worker_id, a.answered, c.items, a.score, a.state, a.created_at, a.finished_at, c.cooldown_seconds`

func scanAttempt(r store.Scanner) (work.Attempt, error) {
	var a work.Attempt
	var created string
	var finished sql.NullString
	var cooldown int
	err := r.Scan(&a.ID, &a.CourseID, &a.WorkerID, &a.Answered, &a.Items, &a.Score, &a.State, &created, &finished, &cooldown)
	a.CreatedAt = store.ParseTimeText(created)
	a.FinishedAt = store.ParseNullTimeText(finished)
	if a.State == work.AttemptFailed && a.FinishedAt != nil {
		t := a.FinishedAt.Add(time.Duration(cooldown) * time.Second)
		a.RetryAfter = &t
	}
	return a, err
}

// StartAttempt opens an attempt at a course for a worker, or returns the
// worker's attempt still open. A worker who failed a qualification waits
// out its cool-down first (ErrCoolingDown).
func StartAttempt(ctx context.Context, st *store.Store, courseID, workerID string) (work.Attempt, error) {
	var a work.Attempt
	err := st.Write(ctx, func(tx *store.Tx) error {
		var err error
		a, err = scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id
			WHERE a.course_id = ? AND a.worker_id = ? AND a.state = 'open'`, courseID, workerID))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		last, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id
			WHERE a.course_id = ? AND a.worker_id = ? ORDER BY a.created_at DESC, a.id DESC LIMIT 1`, courseID, workerID))
		if err == nil && last.RetryAfter != nil && st.Now().Before(*last.RetryAfter) {
			return problem.Public(ErrCoolingDown, "worker %s may try course %s again after %s", workerID, courseID, last.RetryAfter.Format(time.RFC3339))
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id, now := work.NewID(), store.TimeText(st.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (id, course_id, worker_id, state, created_at) VALUES (?, ?, ?, 'open', ?)`,
			id, courseID, workerID, now); err != nil {
			return err
		}
		a, err = scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, id))
		return err
	})
	if errors.Is(err, ErrCoolingDown) {
		return a, err
	}
	if err != nil {
		return a, fmt.Errorf("training: start attempt: %w", err)
	}
	return a, nil
}

// LastAttempt returns a worker's latest attempt at a course.
func LastAttempt(ctx context.Context, st *store.Store, courseID, workerID string) (work.Attempt, error) {
	a, err := scanAttempt(st.Read(ctx).QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id
		WHERE a.course_id = ? AND a.worker_id = ? ORDER BY a.created_at DESC, a.id DESC LIMIT 1`, courseID, workerID))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Attempt{}, fmt.Errorf("training: attempt at %s: %w", courseID, store.ErrNotFound)
	}
	if err != nil {
		return work.Attempt{}, fmt.Errorf("training: attempt at %s: %w", courseID, err)
	}
	return a, nil
}

// Attempt returns one attempt.
func Attempt(ctx context.Context, st *store.Store, id string) (work.Attempt, error) {
	a, err := scanAttempt(st.Read(ctx).QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("training: attempt %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("training: attempt %s: %w", id, err)
	}
	return a, nil
}

// NextItem returns the attempt's first unanswered item, or
// store.ErrNotFound when every item is answered.
func NextItem(ctx context.Context, st *store.Store, attemptID string) (work.CourseItem, error) {
	var it work.CourseItem
	var payload string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT i.id, i.seq, i.payload FROM course_items i JOIN attempts a ON a.course_id = i.course_id
		WHERE a.id = ? AND NOT EXISTS (SELECT 1 FROM attempt_answers x WHERE x.attempt_id = a.id AND x.item_id = i.id)
		ORDER BY i.seq LIMIT 1`, attemptID).Scan(&it.ID, &it.Seq, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("training: attempt %s has no item left: %w", attemptID, store.ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("training: next item of attempt %s: %w", attemptID, err)
	}
	it.Payload = json.RawMessage(payload)
	return it, nil
}

// ItemOutcome is what answering one course item did.
type ItemOutcome struct {
	Score       float64
	Expected    work.Answer
	Explanation string
	Attempt     work.Attempt
}

// AnswerItem scores a worker's answer to one item of their open attempt.
// When it was the last item the attempt finishes: a qualification passes
// at the course's pass mark and grants the skill (reinstating a worker
// suspended from it, with a fresh record); a failed one starts the
// cool-down.
func AnswerItem(ctx context.Context, st *store.Store, attemptID, workerID, itemID string, answer work.Answer) (ItemOutcome, error) {
	var out ItemOutcome
	err := st.Write(ctx, func(tx *store.Tx) (err error) {
		if out, err = answerItem(ctx, st, tx, attemptID, workerID, itemID, answer); err != nil || out.Attempt.State == work.AttemptOpen {
			return err
		}
		// The attempt is over: so is the worker's session of the course.
		return closeSession(ctx, tx, workerID, out.Attempt.CourseID, st.Now())
	})
	if err != nil {
		return ItemOutcome{}, fmt.Errorf("training: answer item: %w", err)
	}
	return out, nil
}

// answerItem is AnswerItem inside the caller's transaction. An item whose
// expected answer this store does not hold (a qualification item at a
// village center: those answers stay on the hub) scores 0 for now, and a
// qualification finished with such items stays "done" until the hub has
// scored it.
func answerItem(ctx context.Context, st *store.Store, tx *store.Tx, attemptID, workerID, itemID string, answer work.Answer) (ItemOutcome, error) {
	var out ItemOutcome
	raw, err := json.Marshal(answer)
	if err != nil {
		return out, err
	}
	a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, attemptID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && a.WorkerID != workerID) {
		return out, fmt.Errorf("attempt %s: %w", attemptID, store.ErrNotFound)
	}
	if err != nil {
		return out, err
	}
	if a.State != work.AttemptOpen {
		return out, problem.Public(store.ErrConflict, "attempt %s is %s already", attemptID, a.State)
	}
	c, err := scanCourse(tx.QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, a.CourseID))
	if err != nil {
		return out, err
	}
	var expected string
	err = tx.QueryRowContext(ctx, `SELECT answer, explanation FROM course_items WHERE id = ? AND course_id = ?`, itemID, c.ID).
		Scan(&expected, &out.Explanation)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("item %s is not part of this course: %w", itemID, store.ErrNotFound)
	}
	if err != nil {
		return out, err
	}
	unscored := expected == ""
	if !unscored {
		if err := json.Unmarshal([]byte(expected), &out.Expected); err != nil {
			return out, err
		}
		out.Score = work.Score(c.Kind, c.Schema, work.DefaultMaxTextError, out.Expected, answer)
	}
	now := store.TimeText(st.Now())
	err = tx.Savepoint(ctx, func() error {
		_, err := tx.ExecContext(ctx, `INSERT INTO attempt_answers (attempt_id, item_id, answer, score, created_at) VALUES (?, ?, ?, ?, ?)`,
			attemptID, itemID, string(raw), out.Score, now)
		return err
	})
	if tx.IsUniqueViolation(err) {
		return out, problem.Public(store.ErrConflict, "item %s is answered already in this attempt", itemID)
	}
	if err != nil {
		return out, err
	}
	a.Answered++
	a.Score += out.Score
	state := work.AttemptOpen
	var finished any
	if a.Answered == c.Items {
		finished = now
		state = work.AttemptDone
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM course_items WHERE course_id = ? AND answer = ''`, c.ID).Scan(&pending); err != nil {
			return out, err
		}
		if c.Purpose == work.Qualification && pending == 0 {
			state = work.AttemptFailed
			if a.Score/float64(c.Items) >= c.PassMark {
				state = work.AttemptPassed
				if err := qualify(ctx, tx, workerID, c, a.Score, now); err != nil {
					return out, err
				}
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE attempts SET answered = ?, score = ?, state = ?, finished_at = ? WHERE id = ?`,
		a.Answered, a.Score, state, finished, attemptID); err != nil {
		return out, err
	}
	out.Attempt, err = scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, attemptID))
	return out, err
}

// qualify grants the course's skill, and counts the qualification's
// items, scored against their known answers, as gold answers in the
// worker's record (score of the course's items right). A worker who was
// suspended from it starts a fresh record: the qualification is their new
// evidence. The record is also how well a reviewer's verdicts are trusted
// when the batch's accuracy is estimated from audits.
func qualify(ctx context.Context, tx *store.Tx, workerID string, c work.Course, score float64, now string) error {
	misses := float64(c.Items) - score
	fresh := quality.SkillPrior
	_, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason, qualified, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'active', '', 1, ?)
		ON CONFLICT (worker_id, kind, language) DO UPDATE SET qualified = 1, updated_at = excluded.updated_at,
			alpha = CASE WHEN worker_skills.status = 'suspended' THEN excluded.alpha ELSE worker_skills.alpha + ? END,
			beta = CASE WHEN worker_skills.status = 'suspended' THEN excluded.beta ELSE worker_skills.beta + ? END,
			scored = CASE WHEN worker_skills.status = 'suspended' THEN excluded.scored ELSE worker_skills.scored + excluded.scored END,
			status = 'active', reason = ''`,
		workerID, string(c.Kind), c.Language, fresh.Alpha+score, fresh.Beta+misses, c.Items, now, score, misses)
	if err != nil {
		return err
	}
	return dispatch.SkillChanged(ctx, tx, workerID, string(c.Kind), c.Language, dispatch.SkillActive, "", now)
}

// Reinstate lifts a suspension by hand (for skills with no qualification to
// retake), with a fresh record.
func Reinstate(ctx context.Context, st *store.Store, workerID, kind, language string) error {
	return st.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(st.Now())
		res, err := tx.ExecContext(ctx, `UPDATE worker_skills SET status = 'active', reason = '', alpha = ?, beta = ?, scored = 0, updated_at = ?
			WHERE worker_id = ? AND kind = ? AND language = ? AND status = 'suspended'`,
			quality.SkillPrior.Alpha, quality.SkillPrior.Beta, now, workerID, kind, language)
		if err != nil {
			return fmt.Errorf("training: reinstate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("training: worker %s is not suspended from %s in %q: %w", workerID, kind, language, store.ErrNotFound)
		}
		return dispatch.SkillChanged(ctx, tx, workerID, kind, language, dispatch.SkillActive, "", now)
	})
}

// Suspend suspends a worker from a skill by hand, with the reason (hub
// staff acting on a complaint, say). A village center hears of it through
// its feed.
func Suspend(ctx context.Context, st *store.Store, workerID, kind, language, reason string) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(st.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason, updated_at)
			VALUES (?, ?, ?, 3, 1, 0, 'suspended', ?, ?)
			ON CONFLICT (worker_id, kind, language) DO UPDATE SET status = 'suspended', reason = excluded.reason, updated_at = excluded.updated_at`,
			workerID, kind, language, reason, now); err != nil {
			return err
		}
		return dispatch.SkillChanged(ctx, tx, workerID, kind, language, dispatch.SkillSuspended, reason, now)
	})
	if err != nil {
		return fmt.Errorf("training: suspend %s: %w", workerID, err)
	}
	return nil
}
