package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// What a center office shows of its people, and a worker passing on an
// offer.

// Person is one of a village center's people as its manager sees them.
type Person struct {
	ID, Name, Role string
	Login          string
	Answers        int // saved today
	// Skills are the hub's word on the worker's skills (active,
	// suspended), as fed down to the center.
	Skills []PersonSkill
	// Courses are the worker's latest attempt at each course.
	Courses []PersonCourse
}

// PersonSkill is a worker's standing at one kind of work in one language.
type PersonSkill struct {
	Kind, Language, Status, Reason string
}

// PersonCourse is a worker's latest attempt at a course.
type PersonCourse struct {
	Name, Purpose, State string
	Answered, Items      int
}

// CenterPeople lists a center's people by name, with their answers saved
// since a time, their skills and their training.
func (s *Store) CenterPeople(ctx context.Context, since time.Time) ([]Person, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.name, u.role, coalesce(c.login, ''),
			(SELECT count(*) FROM center_work w WHERE w.worker_id = u.id AND w.state = 'saved' AND w.saved_at >= ?)
		FROM users u LEFT JOIN credentials c ON c.user_id = u.id
		WHERE u.role IN ('worker', 'reviewer', 'center_manager') ORDER BY u.name, u.id`, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: center people: %w", err)
	}
	people, err := collect(rows, func(r scanner) (Person, error) {
		var p Person
		err := r.Scan(&p.ID, &p.Name, &p.Role, &p.Login, &p.Answers)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: center people: %w", err)
	}
	index := map[string]int{}
	for i, p := range people {
		index[p.ID] = i
	}
	rows, err = s.r.QueryContext(ctx, `SELECT worker_id, kind, language, status, reason FROM center_skills ORDER BY kind, language`)
	if err != nil {
		return nil, fmt.Errorf("store: center skills: %w", err)
	}
	type skillRow struct {
		worker string
		PersonSkill
	}
	skills, err := collect(rows, func(r scanner) (skillRow, error) {
		var k skillRow
		return k, r.Scan(&k.worker, &k.Kind, &k.Language, &k.Status, &k.Reason)
	})
	if err != nil {
		return nil, fmt.Errorf("store: center skills: %w", err)
	}
	for _, k := range skills {
		if i, ok := index[k.worker]; ok {
			people[i].Skills = append(people[i].Skills, k.PersonSkill)
		}
	}
	rows, err = s.r.QueryContext(ctx, `SELECT a.worker_id, c.name, c.purpose, a.state, a.answered, c.items
		FROM attempts a JOIN courses c ON c.id = a.course_id
		WHERE a.created_at = (SELECT max(b.created_at) FROM attempts b WHERE b.worker_id = a.worker_id AND b.course_id = a.course_id)
		ORDER BY c.name`)
	if err != nil {
		return nil, fmt.Errorf("store: center training: %w", err)
	}
	type courseRow struct {
		worker string
		PersonCourse
	}
	courses, err := collect(rows, func(r scanner) (courseRow, error) {
		var c courseRow
		return c, r.Scan(&c.worker, &c.Name, &c.Purpose, &c.State, &c.Answered, &c.Items)
	})
	if err != nil {
		return nil, fmt.Errorf("store: center training: %w", err)
	}
	for _, c := range courses {
		if i, ok := index[c.worker]; ok {
			people[i].Courses = append(people[i].Courses, c.PersonCourse)
		}
	}
	return people, nil
}

// CenterPass gives a worker's live work back to the center's pool
// unanswered, as dispatch.PassAssignment does on the hub.
func (s *Store) CenterPass(ctx context.Context, workerID, workID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var leaseID string
		err := tx.QueryRowContext(ctx, `UPDATE center_work SET state = 'expired'
			WHERE id = ? AND worker_id = ? AND state = 'active' RETURNING lease_id`, workID, workerID).Scan(&leaseID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("live work %s: %w", workID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders - 1 WHERE lease_id = ? AND holders > 0`, leaseID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: pass work: %w", err)
	}
	return nil
}
