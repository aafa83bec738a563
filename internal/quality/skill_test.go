package quality

import (
	"math/rand/v2"
	"testing"
)

func TestSkill(t *testing.T) {
	t.Parallel()
	s := SkillPrior
	if s.Mean() != 0.75 {
		t.Fatalf("prior mean %v, want 0.75", s.Mean())
	}
	for range 4 {
		s = s.Update(0)
	}
	if s.N != 4 || s.Mean() != 3.0/8 {
		t.Fatalf("after 4 misses: n=%d mean %v, want 4 and 0.375", s.N, s.Mean())
	}
	if s.Below(0.6, 5) {
		t.Fatalf("suspended before the minimum number of gold answers")
	}
	if s = s.Update(0.5); !s.Below(0.6, 5) {
		t.Fatalf("mean %v after 5 answers: want below 0.6", s.Mean())
	}
	if s.Below(0, 0) {
		t.Fatalf("min accuracy 0 must never suspend")
	}
}

func TestDecideWeighted(t *testing.T) {
	t.Parallel()
	p := WeightedPolicy{Overlap: 1, MaxOverlap: 4, Target: 0.95, Classes: map[string]int{"label": 5}}
	one := []Ballot{{"label": "spam"}}
	if d := DecideWeighted(one, []float64{0.9}, p); d.Outcome != NeedMore || d.Want != 2 {
		t.Fatalf("one 0.9 worker: got %v want %d, want need_more 2", d.Outcome, d.Want)
	}
	if d := DecideWeighted(one, []float64{0.995}, p); d.Outcome != Settled || d.Winners["label"] != "spam" {
		t.Fatalf("one near-perfect worker: got %v %v, want settled spam", d.Outcome, d.Winners)
	}
	two := []Ballot{{"label": "spam"}, {"label": "spam"}}
	if d := DecideWeighted(two, []float64{0.9, 0.85}, p); d.Outcome != Settled || d.Confidence < 0.95 {
		t.Fatalf("two good workers agreeing: got %v at %.3f, want settled", d.Outcome, d.Confidence)
	}
	// A worker at chance level (1 in 5) adds nothing either way.
	spam := []Ballot{{"label": "spam"}, {"label": "ok"}}
	d1 := DecideWeighted(spam[:1], []float64{0.9}, p)
	d2 := DecideWeighted(spam, []float64{0.9, 0.2}, p)
	if d2.Outcome != NeedMore {
		t.Fatalf("got %v, want need_more", d2.Outcome)
	}
	_, c1 := posterior(spam[:1], []float64{0.9}, "label", 5)
	_, c2 := posterior(spam, []float64{0.9, 0.2}, "label", 5)
	if d1.Outcome != NeedMore || !near(c1, c2, 1e-12) {
		t.Fatalf("a chance-level worker changed the posterior: %.6f vs %.6f", c1, c2)
	}
	split := []Ballot{{"label": "a"}, {"label": "b"}, {"label": "a"}, {"label": "b"}}
	if d := DecideWeighted(split, []float64{0.8, 0.8, 0.8, 0.8}, p); d.Outcome != NeedsReview {
		t.Fatalf("split at max overlap: got %v, want needs_review", d.Outcome)
	}
	// Free-text keys: two matching typed values are strong evidence.
	fields := []Ballot{{"total": "1234.5"}, {"total": "1234.5"}}
	if d := DecideWeighted(fields, []float64{0.8, 0.8}, WeightedPolicy{Overlap: 2, MaxOverlap: 3, Target: 0.99}); d.Outcome != Settled {
		t.Fatalf("two matching keyed values: got %v at %.4f, want settled", d.Outcome, d.Confidence)
	}
}

// The Wilson interval at 95 % covers the true proportion in at least 90 %
// of seeded simulated audits, across accuracies and sample sizes.
func TestWilsonCoverage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 1))
	for _, truth := range []float64{0.7, 0.9, 0.97} {
		for _, n := range []int{30, 100, 400} {
			covered := 0
			const runs = 2000
			for range runs {
				right := 0
				for range n {
					if rng.Float64() < truth {
						right++
					}
				}
				lo, hi := Wilson(float64(right), float64(n), 1.96)
				if lo <= truth && truth <= hi {
					covered++
				}
			}
			if rate := float64(covered) / runs; rate < 0.90 {
				t.Errorf("accuracy %.2f, n %d: interval covered the truth in %.3f of runs, want ≥ 0.90", truth, n, rate)
			}
		}
	}
	if lo, hi := Wilson(0, 0, 1.96); lo != 0 || hi != 1 {
		t.Fatalf("no sample: got [%v, %v], want [0, 1]", lo, hi)
	}
}
