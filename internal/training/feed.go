package training

import (
	"context"
	"encoding/json"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Training's part of the down feed to village centers: courses go to
// every center, the hub's verdict on a qualification attempt goes to the
// center it was made at, and a worker's skills go to the worker's center.
// The hub's composition root lists the snapshots below in its feed kinds,
// a center's lists the appliers.

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
func courseEvent(ctx context.Context, r store.Reader, courseID string) (FeedCourse, error) {
	c, err := scanCourse(r.QueryRowContext(ctx, `SELECT `+courseCols+` FROM courses WHERE id = ?`, courseID))
	if err != nil {
		return FeedCourse{}, err
	}
	rows, err := r.QueryContext(ctx, `SELECT id, seq, payload, answer, explanation FROM course_items WHERE course_id = ? ORDER BY seq`, courseID)
	if err != nil {
		return FeedCourse{}, err
	}
	items, err := store.Collect(rows, func(r store.Scanner) (FeedCourseItem, error) {
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
func feedCourse(ctx context.Context, st *store.Store, tx *store.Tx, courseID string) error {
	ev, err := courseEvent(ctx, tx, courseID)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM orgs WHERE kind = 'center' AND id <> ? ORDER BY id`, auth.BuiltinCenterOrgID)
	if err != nil {
		return err
	}
	centers, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return err
	}
	now := store.TimeText(st.Now())
	for _, c := range centers {
		if err := feed.Append(ctx, tx, c, "course", ev, now); err != nil {
			return err
		}
	}
	return nil
}

// CourseSnapshot is every course, by id, as a center starting its feed
// afresh gets them: every center has every course.
func CourseSnapshot(ctx context.Context, r store.Reader, _ string) ([]FeedCourse, error) {
	rows, err := r.QueryContext(ctx, `SELECT id FROM courses ORDER BY id`)
	if err != nil {
		return nil, err
	}
	ids, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	courses := make([]FeedCourse, 0, len(ids))
	for _, id := range ids {
		ev, err := courseEvent(ctx, r, id)
		if err != nil {
			return nil, err
		}
		courses = append(courses, ev)
	}
	return courses, nil
}

// ApplyCourse keeps a course the hub sent, at a center. A course it has
// already keeps its items and takes the new name and instructions.
func ApplyCourse(ctx context.Context, tx *store.Tx, f FeedCourse, _ time.Time) error {
	schema, err := json.Marshal(f.Schema)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO courses (id, name, purpose, kind, language, schema, instructions,
			pass_mark, cooldown_seconds, items, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, instructions = excluded.instructions`,
		f.ID, f.Name, f.Purpose, string(f.Kind), f.Language, string(schema), f.Instructions, f.PassMark, f.CooldownSeconds,
		len(f.Items), store.TimeText(f.CreatedAt)); err != nil {
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

// ApplyAttempt records, at a center, the hub's verdict on a qualification
// attempt made there (the body of an "attempt" event is the attempt as the
// hub scored it).
func ApplyAttempt(ctx context.Context, tx *store.Tx, a work.Attempt, _ time.Time) error {
	var finished any
	if a.FinishedAt != nil {
		finished = store.TimeText(*a.FinishedAt)
	}
	_, err := tx.ExecContext(ctx, `UPDATE attempts SET state = ?, score = ?, answered = ?, finished_at = ? WHERE id = ?`,
		a.State, a.Score, a.Answered, finished, a.ID)
	return err
}

// SkillSnapshot is every skill of the center's workers, as a center
// starting its feed afresh gets them.
func SkillSnapshot(ctx context.Context, r store.Reader, centerID string) ([]dispatch.FeedSkill, error) {
	rows, err := r.QueryContext(ctx, `SELECT k.worker_id, k.kind, k.language, k.status, k.reason, k.qualified FROM worker_skills k
		JOIN users u ON u.id = k.worker_id WHERE u.org_id = ? ORDER BY k.worker_id, k.kind, k.language`, centerID)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r store.Scanner) (dispatch.FeedSkill, error) {
		var f dispatch.FeedSkill
		return f, r.Scan(&f.WorkerID, &f.Kind, &f.Language, &f.Status, &f.Reason, &f.Qualified)
	})
}

// ClearSkills forgets, at a center, every skill the hub sent, before a
// snapshot brings them all again.
func ClearSkills(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM center_skills`)
	return err
}

// ApplySkill keeps, at a center, a worker's skill as the hub sent it: the
// center offers a worker no task of a skill they are suspended from.
func ApplySkill(ctx context.Context, tx *store.Tx, f dispatch.FeedSkill, _ time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO center_skills (worker_id, kind, language, status, reason, qualified) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (worker_id, kind, language) DO UPDATE SET status = excluded.status, reason = excluded.reason, qualified = excluded.qualified`,
		f.WorkerID, f.Kind, f.Language, f.Status, f.Reason, store.BoolInt(f.Qualified))
	return err
}
