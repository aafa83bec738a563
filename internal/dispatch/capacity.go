package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"banyan/internal/store"
)

// WorkerPace is an active center worker's recent pace.
type WorkerPace struct {
	WorkerID string
	// MedianMS is the median time the worker took over their answers
	// saved since the window began; 0 when they saved none (Answers 0) or
	// most took under a millisecond.
	MedianMS int64
	Answers  int
}

// CenterPace lists the center's active workers (enrolled, answering or
// training since `since`) with their median answer time, so the center
// can lease as much work as they will do before the next sync is likely.
func CenterPace(ctx context.Context, st *store.Store, since time.Time) ([]WorkerPace, error) {
	at := store.TimeText(since)
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT u.id FROM users u WHERE u.role = 'worker' AND (u.created_at >= ?
			OR EXISTS (SELECT 1 FROM center_work w WHERE w.worker_id = u.id AND w.created_at >= ?)
			OR EXISTS (SELECT 1 FROM attempts a WHERE a.worker_id = u.id AND a.created_at >= ?))
		ORDER BY u.id`, at, at, at)
	if err != nil {
		return nil, fmt.Errorf("dispatch: center pace: %w", err)
	}
	ids, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: center pace: %w", err)
	}
	// Every saved answer counts: the center measures to the millisecond,
	// so one given in less than that is 0 ms, and the caller's floor
	// applies to it as to any quick answer.
	rows, err = st.Read(ctx).QueryContext(ctx, `SELECT worker_id, duration_ms FROM center_work
		WHERE state = 'saved' AND saved_at >= ?`, at)
	if err != nil {
		return nil, fmt.Errorf("dispatch: center pace: %w", err)
	}
	type obs struct {
		worker string
		ms     int64
	}
	all, err := store.Collect(rows, func(r store.Scanner) (obs, error) {
		var o obs
		return o, r.Scan(&o.worker, &o.ms)
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: center pace: %w", err)
	}
	times := map[string][]int64{}
	for _, o := range all {
		times[o.worker] = append(times[o.worker], o.ms)
	}
	out := make([]WorkerPace, len(ids))
	for i, id := range ids {
		t := times[id]
		out[i] = WorkerPace{WorkerID: id, Answers: len(t)}
		if len(t) > 0 {
			slices.Sort(t)
			out[i].MedianMS = t[len(t)/2]
		}
	}
	return out, nil
}

// CenterClosedSkills lists the skills none of the given workers may do at
// the center: each is suspended from it, or it has a qualification none
// of them has passed. The center asks the hub for no work in them.
func CenterClosedSkills(ctx context.Context, st *store.Store, workers []string) ([]Skill, error) {
	if len(workers) == 0 {
		return nil, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(workers)), ",")
	args := make([]any, len(workers))
	for i, w := range workers {
		args[i] = w
	}
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT k.kind, k.language FROM (
			SELECT kind, language FROM courses WHERE purpose = 'qualification'
			UNION SELECT kind, language FROM center_skills) k
		WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id IN (`+in+`)
			AND NOT EXISTS (SELECT 1 FROM center_skills c WHERE c.worker_id = u.id AND c.kind = k.kind
			                AND c.language = k.language AND c.status = 'suspended')
			AND (NOT EXISTS (SELECT 1 FROM courses q WHERE q.purpose = 'qualification' AND q.kind = k.kind AND q.language = k.language)
			     OR EXISTS (SELECT 1 FROM center_skills c WHERE c.worker_id = u.id AND c.kind = k.kind
			                AND c.language = k.language AND c.qualified = 1)))
		ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("dispatch: closed skills: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (Skill, error) {
		var k Skill
		return k, r.Scan(&k.Kind, &k.Language)
	})
}
