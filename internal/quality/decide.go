// Package quality owns the statistics of answers: when a task's answers
// are enough and what its result is (Decide, by strict majority key by
// key; DecideWeighted, by posteriors weighted with each worker's estimated
// accuracy), aggregating whole label sets (Aggregate: majority vote,
// WAWA, one-coin and full Dawid–Skene, GLAD), worker skill estimates
// (Skill) with their Wilson intervals, and the medoid of a set of answers
// (Medoid), on which near-identical transcriptions settle.
//
// It is pure logic: no I/O and nothing of Banyan's own imported.
package quality

import "sort"

// Ballot is one answer in the form aggregation compares: for every thing the
// workers vote on (a label, one extract field, a text), the answer's value in
// comparison form.
type Ballot map[string]string

// Policy is the part of a project's quality settings that Decide uses.
type Policy struct {
	// Overlap is how many answers every task gets before a decision is tried.
	Overlap int
	// MaxOverlap is how many answers a task may get while its answers still
	// disagree; past it the task goes to review.
	MaxOverlap int
}

// Outcome says what should happen to a task next.
type Outcome int

// The outcomes of Decide.
const (
	// NeedMore: the task should get another answer (Want says how many it
	// should have in all).
	NeedMore Outcome = iota
	// Settled: every key has a winner; the result is final.
	Settled
	// NeedsReview: the answers still disagree at MaxOverlap.
	NeedsReview
)

func (o Outcome) String() string {
	switch o {
	case Settled:
		return "settled"
	case NeedsReview:
		return "needs_review"
	}
	return "need_more"
}

// Decision is the verdict on one task's answers.
type Decision struct {
	Outcome Outcome
	// Winners holds, when Settled, the winning value of every key.
	Winners map[string]string
	// Confidence is, when Settled, the lowest share of answers that agreed
	// with the winner across keys: 1 when everyone agreed on everything.
	Confidence float64
	// Want is how many answers the task should hold in all.
	Want int
}

// Decide looks at the answers a task has and says whether it is settled,
// needs another answer, or needs review. A key is settled when more than
// half of the answers give it the same value; a task is settled when every
// key is. Decide is deterministic: the same ballots in any order give the
// same decision.
func Decide(ballots []Ballot, p Policy) Decision {
	n := len(ballots)
	if n < p.Overlap || n == 0 {
		return Decision{Outcome: NeedMore, Want: max(p.Overlap, 1)}
	}
	sorted := sortedKeys(ballots)
	winners := make(map[string]string, len(sorted))
	confidence := 1.0
	counts := map[string]int{}
	for _, k := range sorted {
		clear(counts)
		for _, b := range ballots {
			counts[b[k]]++
		}
		for v, c := range counts {
			if 2*c > n {
				winners[k] = v
				confidence = min(confidence, float64(c)/float64(n))
			}
		}
		if _, ok := winners[k]; !ok {
			if n < p.MaxOverlap {
				return Decision{Outcome: NeedMore, Want: n + 1}
			}
			return Decision{Outcome: NeedsReview, Want: n}
		}
	}
	return Decision{Outcome: Settled, Winners: winners, Confidence: confidence, Want: n}
}

// sortedKeys lists every key any ballot votes on, sorted, so decisions do
// not depend on map order.
func sortedKeys(ballots []Ballot) []string {
	seen := map[string]bool{}
	var keys []string
	for _, b := range ballots {
		for k := range b {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
