package project

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"banyan/internal/store"
	"banyan/internal/work"
)

// ProjectColumns are the columns ScanProject reads, in its order.
const ProjectColumns = `id, client_id, name, kind, schema, instructions, overlap, max_overlap, assignment_seconds,
	language, method, confidence_target, gold_ratio, min_accuracy, min_gold, min_answer_ms, review_rate, created_at,
	max_text_error, rubric, review_first, priority`

// ScanProject reads one project selected with ProjectColumns.
func ScanProject(r store.Scanner) (work.Project, error) {
	var p work.Project
	var kind, schema, created string
	var rubric sql.NullString
	q := &p.Quality
	if err := r.Scan(&p.ID, &p.ClientID, &p.Name, &kind, &schema, &p.Instructions,
		&p.Overlap, &p.MaxOverlap, &p.AssignmentSeconds,
		&q.Language, &q.Method, &q.ConfidenceTarget, &q.GoldRatio, &q.MinAccuracy, &q.MinGold, &q.MinAnswerMS, &q.ReviewRate,
		&created,
		&q.MaxTextError, &rubric, &q.ReviewFirst, &p.Priority); err != nil {
		return work.Project{}, err
	}
	if rubric.Valid {
		q.Rubric = &work.Rubric{}
		if err := json.Unmarshal([]byte(rubric.String), q.Rubric); err != nil {
			return work.Project{}, fmt.Errorf("stored rubric of project %s: %w", p.ID, err)
		}
	}
	p.Kind = work.Kind(kind)
	p.CreatedAt = store.ParseTimeText(created)
	sc, err := work.DecodeSchema(p.Kind, []byte(schema))
	if err != nil {
		return work.Project{}, fmt.Errorf("stored schema of project %s: %w", p.ID, err)
	}
	p.Schema = sc
	return p, nil
}

// Project returns one project, read afresh.
func Project(ctx context.Context, st *store.Store, id string) (work.Project, error) {
	p, err := ScanProject(st.Read(ctx).QueryRowContext(ctx, `SELECT `+ProjectColumns+` FROM projects WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Project{}, fmt.Errorf("project: %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return work.Project{}, fmt.Errorf("project: %s: %w", id, err)
	}
	return p, nil
}

// Cache is a process's reads of projects. Every worker request reads its
// project, and projects change seldom, so a read is kept for projectTTL: a
// change made through this process (which calls Forget) is seen at once,
// one made through another hub on the same database within projectTTL.
// The composition root builds one and shares it; its zero value with a
// Store is ready to use.
type Cache struct {
	Store *store.Store
	// reads holds recent reads by project id.
	reads sync.Map
}

// Project returns one project, as read within projectTTL.
func (c *Cache) Project(ctx context.Context, id string) (work.Project, error) {
	if v, ok := c.reads.Load(id); ok {
		if r := v.(cachedProject); time.Now().Before(r.until) {
			return r.p, nil
		}
	}
	p, err := Project(ctx, c.Store, id)
	if err != nil {
		return work.Project{}, err
	}
	c.reads.Store(id, cachedProject{p: p, until: time.Now().Add(projectTTL)})
	return p, nil
}

// Forget drops the project's kept read after a change to it.
func (c *Cache) Forget(id string) { c.reads.Delete(id) }

// projectTTL is how long a project read is reused.
const projectTTL = 2 * time.Second

type cachedProject struct {
	p     work.Project
	until time.Time
}
