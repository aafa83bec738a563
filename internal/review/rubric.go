package review

import (
	"context"
	"encoding/json"
	"fmt"

	"banyan/internal/dispatch"
	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// RubricQuality is a batch's quality as its reviewers' scores on the
// project's rubric measure it. The replies reviewed because they were
// among their writer's first are all of a new writer's work, not a random
// sample of the batch's replies, so they are kept apart: only the replies
// drawn at the project's review rate make the estimate.
type RubricQuality struct {
	// Sampled covers the replies drawn at the project's review rate: a
	// random sample of the replies of writers past their first
	// review_first, whose pass rate estimates the share of delivered
	// replies that would pass. Nil until one is reviewed.
	Sampled *RubricFigures `json:"sampled"`
	// NewWriters covers the replies reviewed because they were among
	// their writer's first review_first in the project. Nil until one is
	// reviewed.
	NewWriters *RubricFigures `json:"new_writers"`
}

// RubricFigures are the scores of a set of reviewed replies.
type RubricFigures struct {
	// Replies is how many replies were reviewed.
	Replies int `json:"replies"`
	// PassRate is the share of them that passed, with its Wilson 95 %
	// interval.
	PassRate Interval `json:"pass_rate"`
	// Criteria are the rubric's criteria in its order, each with its
	// average.
	Criteria []CriterionQuality `json:"criteria"`
}

// CriterionQuality is one criterion's average over the reviewed replies:
// on a pass_fail criterion the share that passed it, with its Wilson 95 %
// interval; on a 1-5 criterion the mean score, with its 95 % interval by
// Student's t (quality.MeanInterval).
type CriterionQuality struct {
	Name  string   `json:"name"`
	Scale string   `json:"scale"`
	Value Interval `json:"value"`
}

// rubricQuality measures a batch's reviewed replies on the project's
// rubric.
func rubricQuality(ctx context.Context, st *store.Store, batchID string, r work.Rubric) (*RubricQuality, error) {
	type reviewed struct {
		n, passed int
		scores    [][]float64 // by criterion
	}
	by := map[string]*reviewed{}
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT reason, scores, passed FROM rubric_reviews WHERE batch_id = ?`, batchID)
	if err != nil {
		return nil, err
	}
	err = store.EachRow(rows, func(row store.Scanner) error {
		var reason, raw string
		var passed int
		if err := row.Scan(&reason, &raw, &passed); err != nil {
			return err
		}
		var scores map[string]int
		if err := json.Unmarshal([]byte(raw), &scores); err != nil {
			return fmt.Errorf("stored scores: %w", err)
		}
		rv := by[reason]
		if rv == nil {
			rv = &reviewed{scores: make([][]float64, len(r.Criteria))}
			by[reason] = rv
		}
		rv.n++
		rv.passed += passed
		for i, c := range r.Criteria {
			rv.scores[i] = append(rv.scores[i], float64(scores[c.Name]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	figures := func(reason string) *RubricFigures {
		rv := by[reason]
		if rv == nil {
			return nil
		}
		n := rv.n
		f := &RubricFigures{Replies: n, PassRate: rate(rv.passed, n), Criteria: make([]CriterionQuality, len(r.Criteria))}
		for i, c := range r.Criteria {
			cq := CriterionQuality{Name: c.Name, Scale: c.Scale}
			if c.Scale == work.ScaleOneToFive {
				mean, lo, hi := quality.MeanInterval(rv.scores[i], 1, 5)
				cq.Value = Interval{Value: mean, Low: lo, High: hi, Sample: n}
			} else {
				pass := 0
				for _, v := range rv.scores[i] {
					pass += int(v)
				}
				cq.Value = rate(pass, n)
			}
			f.Criteria[i] = cq
		}
		return f
	}
	return &RubricQuality{Sampled: figures(dispatch.ReviewSample), NewWriters: figures(dispatch.ReviewNewWriter)}, nil
}

// rate is a share of n with its Wilson 95 % interval.
func rate(k, n int) Interval {
	lo, hi := quality.Wilson(float64(k), float64(n), 1.96)
	return Interval{Value: float64(k) / float64(n), Low: lo, High: hi, Sample: n}
}
