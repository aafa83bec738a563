package review_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/quality"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// The quality report of a project reviewed by rubric gives, over the
// replies sampled at the review rate, the reply pass rate and each
// criterion's average — the pass rate of a pass/fail criterion with its
// Wilson interval, the mean of a 1–5 one with its t interval — and the
// same figures apart for the replies reviewed as a writer's first, which
// are not a random sample and do not make the estimate.
func TestRubricQualityReport(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	d := &dispatch.Service{Store: st}
	ctx := context.Background()
	people := &auth.Service{Store: st}
	c, err := people.CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Respond, []byte(`{"inputs":["question"]}`))
	rubric := &work.Rubric{Criteria: []work.Criterion{{Name: "accuracy", Scale: work.ScalePassFail}, {Name: "tone", Scale: work.ScaleOneToFive, Min: 3}}}
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "replies", Kind: work.Respond, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600,
		Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, Rubric: rubric, ReviewFirst: 2, ReviewRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 7 {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"question":"q%d"}`, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	writer := workers(t, st, 1)[0]
	reviewer, err := people.CreateUser(ctx, auth.HubOrgID, "rita", "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	// The writer's first two replies, then five drawn at the rate (1).
	scores := []map[string]int{
		{"accuracy": 1, "tone": 5}, {"accuracy": 0, "tone": 4},
		{"accuracy": 1, "tone": 4}, {"accuracy": 1, "tone": 5}, {"accuracy": 1, "tone": 3}, {"accuracy": 1, "tone": 2}, {"accuracy": 0, "tone": 4},
	}
	for i, sc := range scores {
		a, _, err := d.Claim(ctx, writer.ID, p.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: writer.ID, Answer: work.Answer{Text: fmt.Sprint("reply ", i)},
			OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, SampleDraw: 0.5}, dispatch.Decider(p)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ResolveRubric(ctx, reviewer.ID, a.TaskID, sc, "Answer the question asked."); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	b, _ = project.Batch(ctx, st, b.ID)
	rep, err := review.BatchQuality(ctx, st, b, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rubric == nil || rep.Rubric.Sampled == nil || rep.Rubric.NewWriters == nil {
		t.Fatalf("rubric figures: got %+v, want the sampled and the new writers' replies", rep.Rubric)
	}
	wilson := func(k, n int) review.Interval {
		lo, hi := quality.Wilson(float64(k), float64(n), 1.96)
		return review.Interval{Value: float64(k) / float64(n), Low: lo, High: hi, Sample: n}
	}
	// Tone over the sample: 4, 5, 3, 2, 4 — mean 3.6, s = √1.3, t(4) = 2.776;
	// the interval's top is clipped to the scale.
	half := 2.776 * math.Sqrt(1.3) / math.Sqrt(5)
	tests := []struct {
		name    string
		got     *review.RubricFigures
		replies int
		pass    review.Interval
		acc     review.Interval
		tone    review.Interval
	}{
		{"sampled", rep.Rubric.Sampled, 5, wilson(3, 5), wilson(4, 5), review.Interval{Value: 3.6, Low: 3.6 - half, High: 5, Sample: 5}},
		// 5 and 4: mean 4.5, t(1) = 12.706 spans the whole scale.
		{"new writers", rep.Rubric.NewWriters, 2, wilson(1, 2), wilson(1, 2), review.Interval{Value: 4.5, Low: 1, High: 5, Sample: 2}},
	}
	near := func(a, b review.Interval) bool {
		return a.Sample == b.Sample && math.Abs(a.Value-b.Value) < 1e-3 && math.Abs(a.Low-b.Low) < 1e-3 && math.Abs(a.High-b.High) < 1e-3
	}
	for _, tc := range tests {
		f := tc.got
		if f.Replies != tc.replies || !near(f.PassRate, tc.pass) {
			t.Errorf("%s: %d replies passing %+v; want %d, %+v", tc.name, f.Replies, f.PassRate, tc.replies, tc.pass)
		}
		if len(f.Criteria) != 2 || f.Criteria[0].Name != "accuracy" || f.Criteria[0].Scale != work.ScalePassFail ||
			f.Criteria[1].Name != "tone" || f.Criteria[1].Scale != work.ScaleOneToFive {
			t.Fatalf("%s: criteria %+v, want accuracy (pass_fail) and tone (1-5) in the rubric's order", tc.name, f.Criteria)
		}
		if !near(f.Criteria[0].Value, tc.acc) || !near(f.Criteria[1].Value, tc.tone) {
			t.Errorf("%s: accuracy %+v, tone %+v; want %+v, %+v", tc.name, f.Criteria[0].Value, f.Criteria[1].Value, tc.acc, tc.tone)
		}
	}
	if rep.EstimatedAccuracy == nil || !near(*rep.EstimatedAccuracy, wilson(3, 5)) {
		t.Errorf("estimated accuracy %+v, want the sampled replies' pass rate %+v", rep.EstimatedAccuracy, wilson(3, 5))
	}
}
