package center

import (
	"context"
	"fmt"
	"time"

	"banyan/internal/store"
	"banyan/internal/web"
)

// What the center office shows of the center's people, and a worker
// passing on an offer.

// People lists the center's people by name, with their answers saved
// since a time, their skills and their training, as the office shows them.
func (l *Local) People(ctx context.Context, since time.Time) ([]web.Person, error) {
	r := l.Store.Read(ctx)
	rows, err := r.QueryContext(ctx, `SELECT u.id, u.name, u.role, coalesce(c.login, ''),
			(SELECT count(*) FROM center_work w WHERE w.worker_id = u.id AND w.state = 'saved' AND w.saved_at >= ?)
		FROM users u LEFT JOIN credentials c ON c.user_id = u.id
		WHERE u.role IN ('worker', 'reviewer', 'center_manager') ORDER BY u.name, u.id`, store.TimeText(since))
	if err != nil {
		return nil, fmt.Errorf("center: people: %w", err)
	}
	people, err := store.Collect(rows, func(r store.Scanner) (web.Person, error) {
		var p web.Person
		err := r.Scan(&p.ID, &p.Name, &p.Role, &p.Login, &p.Answers)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("center: people: %w", err)
	}
	index := map[string]int{}
	for i, p := range people {
		index[p.ID] = i
	}
	rows, err = r.QueryContext(ctx, `SELECT worker_id, kind, language, status, reason FROM center_skills ORDER BY kind, language`)
	if err != nil {
		return nil, fmt.Errorf("center: skills: %w", err)
	}
	type skillRow struct {
		worker string
		web.PersonSkill
	}
	skills, err := store.Collect(rows, func(r store.Scanner) (skillRow, error) {
		var k skillRow
		return k, r.Scan(&k.worker, &k.Kind, &k.Language, &k.Status, &k.Reason)
	})
	if err != nil {
		return nil, fmt.Errorf("center: skills: %w", err)
	}
	for _, k := range skills {
		if i, ok := index[k.worker]; ok {
			people[i].Skills = append(people[i].Skills, k.PersonSkill)
		}
	}
	rows, err = r.QueryContext(ctx, `SELECT a.worker_id, c.name, c.purpose, a.state, a.answered, c.items
		FROM attempts a JOIN courses c ON c.id = a.course_id
		WHERE a.created_at = (SELECT max(b.created_at) FROM attempts b WHERE b.worker_id = a.worker_id AND b.course_id = a.course_id)
		ORDER BY c.name`)
	if err != nil {
		return nil, fmt.Errorf("center: training: %w", err)
	}
	type courseRow struct {
		worker string
		web.PersonCourse
	}
	courses, err := store.Collect(rows, func(r store.Scanner) (courseRow, error) {
		var c courseRow
		return c, r.Scan(&c.worker, &c.Name, &c.Purpose, &c.State, &c.Answered, &c.Items)
	})
	if err != nil {
		return nil, fmt.Errorf("center: training: %w", err)
	}
	for _, c := range courses {
		if i, ok := index[c.worker]; ok {
			people[i].Courses = append(people[i].Courses, c.PersonCourse)
		}
	}
	return people, nil
}
