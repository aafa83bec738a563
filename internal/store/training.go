package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"banyan/internal/problem"
	"banyan/internal/quality"
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

// CreateCourse stores a course and its items in one transaction.
func (s *Store) CreateCourse(ctx context.Context, c work.Course, items iter.Seq2[CourseItemIn, error]) (work.Course, error) {
	schema, err := json.Marshal(c.Schema)
	if err != nil {
		return work.Course{}, err
	}
	c.ID, c.CreatedAt = work.NewID(), s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO courses (id, name, purpose, kind, language, schema, instructions,
				pass_mark, cooldown_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Purpose, string(c.Kind), c.Language, string(schema), c.Instructions, c.PassMark, c.CooldownSeconds, ts(c.CreatedAt))
		if s.d.isUniqueViolation(err) {
			return problem.Public(ErrConflict, "a course named %q, or a qualification for %s in %q, exists already", c.Name, c.Kind, c.Language)
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
		return s.feedCourse(ctx, tx, c.ID)
	})
	if err != nil {
		return work.Course{}, fmt.Errorf("store: create course: %w", err)
	}
	return c, nil
}

const courseCols = `id, name, purpose, kind, language, schema, instructions, pass_mark, cooldown_seconds, items, created_at`

func scanCourse(r scanner) (work.Course, error) {
	var c work.Course
	var kind, schema, created string
	if err := r.Scan(&c.ID, &c.Name, &c.Purpose, &kind, &c.Language, &schema, &c.Instructions, &c.PassMark,
		&c.CooldownSeconds, &c.Items, &created); err != nil {
		return c, err
	}
	c.Kind = work.Kind(kind)
	c.CreatedAt = parseTS(created)
	sc, err := work.DecodeSchema(c.Kind, []byte(schema))
	c.Schema = sc
	return c, err
}

// Course returns one course.
func (s *Store) Course(ctx context.Context, id string) (work.Course, error) {
	c, err := scanCourse(s.r.QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: course %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: course %s: %w", id, err)
	}
	return c, nil
}

// Courses lists every course by id.
func (s *Store) Courses(ctx context.Context, p Page) ([]work.Course, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list courses: %w", err)
	}
	return collect(rows, scanCourse)
}

const attemptCols = `a.id, a.course_id, a.worker_id, a.answered, c.items, a.score, a.state, a.created_at, a.finished_at, c.cooldown_seconds`

func scanAttempt(r scanner) (work.Attempt, error) {
	var a work.Attempt
	var created string
	var finished sql.NullString
	var cooldown int
	err := r.Scan(&a.ID, &a.CourseID, &a.WorkerID, &a.Answered, &a.Items, &a.Score, &a.State, &created, &finished, &cooldown)
	a.CreatedAt = parseTS(created)
	a.FinishedAt = parseNullTS(finished)
	if a.State == work.AttemptFailed && a.FinishedAt != nil {
		t := a.FinishedAt.Add(time.Duration(cooldown) * time.Second)
		a.RetryAfter = &t
	}
	return a, err
}

// StartAttempt opens an attempt at a course for a worker, or returns the
// worker's attempt still open. A worker who failed a qualification waits
// out its cool-down first (ErrCoolingDown).
func (s *Store) StartAttempt(ctx context.Context, courseID, workerID string) (work.Attempt, error) {
	var a work.Attempt
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		if err == nil && last.RetryAfter != nil && s.now().Before(*last.RetryAfter) {
			return problem.Public(ErrCoolingDown, "worker %s may try course %s again after %s", workerID, courseID, last.RetryAfter.Format(time.RFC3339))
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id, now := work.NewID(), ts(s.now())
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
		return a, fmt.Errorf("store: start attempt: %w", err)
	}
	return a, nil
}

// LastAttempt returns a worker's latest attempt at a course.
func (s *Store) LastAttempt(ctx context.Context, courseID, workerID string) (work.Attempt, error) {
	a, err := scanAttempt(s.r.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id
		WHERE a.course_id = ? AND a.worker_id = ? ORDER BY a.created_at DESC, a.id DESC LIMIT 1`, courseID, workerID))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Attempt{}, fmt.Errorf("store: attempt at %s: %w", courseID, ErrNotFound)
	}
	if err != nil {
		return work.Attempt{}, fmt.Errorf("store: attempt at %s: %w", courseID, err)
	}
	return a, nil
}

// Attempt returns one attempt.
func (s *Store) Attempt(ctx context.Context, id string) (work.Attempt, error) {
	a, err := scanAttempt(s.r.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("store: attempt %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("store: attempt %s: %w", id, err)
	}
	return a, nil
}

// NextItem returns the attempt's first unanswered item, or ErrNotFound
// when every item is answered.
func (s *Store) NextItem(ctx context.Context, attemptID string) (work.CourseItem, error) {
	var it work.CourseItem
	var payload string
	err := s.r.QueryRowContext(ctx, `SELECT i.id, i.seq, i.payload FROM course_items i JOIN attempts a ON a.course_id = i.course_id
		WHERE a.id = ? AND NOT EXISTS (SELECT 1 FROM attempt_answers x WHERE x.attempt_id = a.id AND x.item_id = i.id)
		ORDER BY i.seq LIMIT 1`, attemptID).Scan(&it.ID, &it.Seq, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("store: attempt %s has no item left: %w", attemptID, ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("store: next item of attempt %s: %w", attemptID, err)
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
func (s *Store) AnswerItem(ctx context.Context, attemptID, workerID, itemID string, answer work.Answer) (ItemOutcome, error) {
	var out ItemOutcome
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if out, err = s.answerItem(ctx, tx, attemptID, workerID, itemID, answer); err != nil || out.Attempt.State == work.AttemptOpen {
			return err
		}
		// The attempt is over: so is the worker's session of the course.
		return closeSession(ctx, tx, workerID, out.Attempt.CourseID, s.now())
	})
	if err != nil {
		return ItemOutcome{}, fmt.Errorf("store: answer item: %w", err)
	}
	return out, nil
}

// answerItem is AnswerItem inside the caller's transaction. An item whose
// expected answer this store does not hold (a qualification item at a
// village center: those answers stay on the hub) scores 0 for now, and a
// qualification finished with such items stays "done" until the hub has
// scored it.
func (s *Store) answerItem(ctx context.Context, tx *sql.Tx, attemptID, workerID, itemID string, answer work.Answer) (ItemOutcome, error) {
	var out ItemOutcome
	raw, err := json.Marshal(answer)
	if err != nil {
		return out, err
	}
	a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN courses c ON c.id = a.course_id WHERE a.id = ?`, attemptID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && a.WorkerID != workerID) {
		return out, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	if err != nil {
		return out, err
	}
	if a.State != work.AttemptOpen {
		return out, problem.Public(ErrConflict, "attempt %s is %s already", attemptID, a.State)
	}
	c, err := scanCourse(tx.QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, a.CourseID))
	if err != nil {
		return out, err
	}
	var expected string
	err = tx.QueryRowContext(ctx, `SELECT answer, explanation FROM course_items WHERE id = ? AND course_id = ?`, itemID, c.ID).
		Scan(&expected, &out.Explanation)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("item %s is not part of this course: %w", itemID, ErrNotFound)
	}
	if err != nil {
		return out, err
	}
	unscored := expected == ""
	if !unscored {
		if err := json.Unmarshal([]byte(expected), &out.Expected); err != nil {
			return out, err
		}
		out.Score = work.Score(c.Kind, c.Schema, out.Expected, answer)
	}
	now := ts(s.now())
	err = s.d.savepoint(ctx, tx, func() error {
		_, err := tx.ExecContext(ctx, `INSERT INTO attempt_answers (attempt_id, item_id, answer, score, created_at) VALUES (?, ?, ?, ?, ?)`,
			attemptID, itemID, string(raw), out.Score, now)
		return err
	})
	if s.d.isUniqueViolation(err) {
		return out, problem.Public(ErrConflict, "item %s is answered already in this attempt", itemID)
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
				if err := s.qualify(ctx, tx, workerID, c, now); err != nil {
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

// qualify grants the course's skill. A worker who was suspended from it
// starts a fresh record: the qualification is their new evidence.
func (s *Store) qualify(ctx context.Context, tx *sql.Tx, workerID string, c work.Course, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason, qualified, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, 'active', '', 1, ?)
		ON CONFLICT (worker_id, kind, language) DO UPDATE SET qualified = 1, updated_at = excluded.updated_at,
			alpha = CASE WHEN worker_skills.status = 'suspended' THEN excluded.alpha ELSE worker_skills.alpha END,
			beta = CASE WHEN worker_skills.status = 'suspended' THEN excluded.beta ELSE worker_skills.beta END,
			scored = CASE WHEN worker_skills.status = 'suspended' THEN 0 ELSE worker_skills.scored END,
			status = 'active', reason = ''`,
		workerID, string(c.Kind), c.Language, quality.SkillPrior.Alpha, quality.SkillPrior.Beta, now)
	if err != nil {
		return err
	}
	return s.feedSkill(ctx, tx, workerID, string(c.Kind), c.Language, SkillActive, "", now)
}

// Reinstate lifts a suspension by hand (for skills with no qualification to
// retake), with a fresh record.
func (s *Store) Reinstate(ctx context.Context, workerID, kind, language string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE worker_skills SET status = 'active', reason = '', alpha = ?, beta = ?, scored = 0, updated_at = ?
			WHERE worker_id = ? AND kind = ? AND language = ? AND status = 'suspended'`,
			quality.SkillPrior.Alpha, quality.SkillPrior.Beta, now, workerID, kind, language)
		if err != nil {
			return fmt.Errorf("store: reinstate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: worker %s is not suspended from %s in %q: %w", workerID, kind, language, ErrNotFound)
		}
		return s.feedSkill(ctx, tx, workerID, kind, language, SkillActive, "", now)
	})
}

// FeedCourse is a feed event: a course for the center's workers. Training
// items carry their answers and explanations (they are there to teach);
// qualification items do not: those answers stay on the hub, which scores
// the attempts.
type FeedCourse struct {
	work.Course
	Items []FeedCourseItem `json:"items"`
}

// FeedCourseItem is one item of a FeedCourse.
type FeedCourseItem struct {
	ID          string          `json:"id"`
	Seq         int             `json:"seq"`
	Payload     json.RawMessage `json:"payload"`
	Answer      json.RawMessage `json:"answer,omitempty"`
	Explanation string          `json:"explanation,omitempty"`
}

// courseEvent builds the feed event of one course.
func courseEvent(ctx context.Context, q interface {
	querier
	rowQuerier
}, courseID string) (FeedCourse, error) {
	c, err := scanCourse(q.QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, courseID))
	if err != nil {
		return FeedCourse{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, seq, payload, answer, explanation FROM course_items WHERE course_id = ? ORDER BY seq`, courseID)
	if err != nil {
		return FeedCourse{}, err
	}
	items, err := collect(rows, func(r scanner) (FeedCourseItem, error) {
		var it FeedCourseItem
		var payload, answer string
		err := r.Scan(&it.ID, &it.Seq, &payload, &answer, &it.Explanation)
		it.Payload = json.RawMessage(payload)
		if c.Purpose == work.Training {
			it.Answer = json.RawMessage(answer)
		} else {
			it.Explanation = ""
		}
		return it, err
	})
	return FeedCourse{Course: c, Items: items}, err
}

// feedCourse sends a new course to every village center.
func (s *Store) feedCourse(ctx context.Context, tx *sql.Tx, courseID string) error {
	ev, err := courseEvent(ctx, tx, courseID)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM orgs WHERE kind = 'center' AND id <> ? ORDER BY id`, builtinCenterOrgID)
	if err != nil {
		return err
	}
	centers, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return err
	}
	now := ts(s.now())
	for _, c := range centers {
		if err := s.feedTo(ctx, tx, c, "course", ev, now); err != nil {
			return err
		}
	}
	return nil
}

// applyCourse keeps a course the hub sent, at a center.
func applyCourse(ctx context.Context, tx *sql.Tx, f FeedCourse) error {
	schema, err := json.Marshal(f.Schema)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO courses (id, name, purpose, kind, language, schema, instructions,
			pass_mark, cooldown_seconds, items, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, instructions = excluded.instructions`,
		f.ID, f.Name, f.Purpose, string(f.Kind), f.Language, string(schema), f.Instructions, f.PassMark, f.CooldownSeconds,
		len(f.Items), ts(f.CreatedAt)); err != nil {
		return err
	}
	for _, it := range f.Items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO course_items (id, course_id, seq, payload, answer, explanation) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, it.ID, f.ID, it.Seq, string(it.Payload), string(it.Answer), it.Explanation); err != nil {
			return err
		}
	}
	return nil
}

// applyAttempt records, at a center, the hub's verdict on a qualification
// attempt made there.
func applyAttempt(ctx context.Context, tx *sql.Tx, a work.Attempt) error {
	var finished any
	if a.FinishedAt != nil {
		finished = ts(*a.FinishedAt)
	}
	_, err := tx.ExecContext(ctx, `UPDATE attempts SET state = ?, score = ?, answered = ?, finished_at = ? WHERE id = ?`,
		a.State, a.Score, a.Answered, finished, a.ID)
	return err
}
