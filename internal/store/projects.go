package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/work"
)

// A project's read is kept here until dispatch reaches projects through
// the project package's cache; the rest of the domain is the project
// package's.

const projectCols = `id, client_id, name, kind, schema, instructions, overlap, max_overlap, assignment_seconds,
	language, method, confidence_target, gold_ratio, min_accuracy, min_gold, min_answer_ms, review_rate, created_at`

func scanProject(r scanner) (work.Project, error) {
	var p work.Project
	var kind, schema, created string
	q := &p.Quality
	if err := r.Scan(&p.ID, &p.ClientID, &p.Name, &kind, &schema, &p.Instructions,
		&p.Overlap, &p.MaxOverlap, &p.AssignmentSeconds,
		&q.Language, &q.Method, &q.ConfidenceTarget, &q.GoldRatio, &q.MinAccuracy, &q.MinGold, &q.MinAnswerMS, &q.ReviewRate,
		&created); err != nil {
		return work.Project{}, err
	}
	p.Kind = work.Kind(kind)
	p.CreatedAt = parseTS(created)
	sc, err := work.DecodeSchema(p.Kind, []byte(schema))
	if err != nil {
		return work.Project{}, fmt.Errorf("stored schema of project %s: %w", p.ID, err)
	}
	p.Schema = sc
	return p, nil
}

// Project returns one project.
//
// Every worker request reads its project, and projects change seldom, so a
// read is kept for projectTTL: a change made through this process is seen
// at once, one made through another hub on the same database within
// projectTTL.
func (s *Store) Project(ctx context.Context, id string) (work.Project, error) {
	if v, ok := s.projects.Load(id); ok {
		if c := v.(cachedProject); time.Now().Before(c.until) {
			return c.p, nil
		}
	}
	p, err := scanProject(s.reader(ctx).QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if err == nil {
		s.projects.Store(id, cachedProject{p: p, until: time.Now().Add(projectTTL)})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return work.Project{}, fmt.Errorf("store: project %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return work.Project{}, fmt.Errorf("store: project %s: %w", id, err)
	}
	return p, nil
}

// projectTTL is how long a project read is reused.
const projectTTL = 2 * time.Second

type cachedProject struct {
	p     work.Project
	until time.Time
}
