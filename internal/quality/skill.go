package quality

import (
	"math"
	"sort"
)

// Skill is what is known of one worker's accuracy at one kind of task in
// one language: a Beta(Alpha, Beta) posterior over the chance that their
// answer is right, updated by every scored answer (gold or review).
type Skill struct {
	Alpha, Beta float64
	// N is how many scored answers have been seen.
	N int
}

// SkillPrior is a new worker's skill: mean 0.75, worth four answers, so a
// few early misses move it but don't condemn anyone.
var SkillPrior = Skill{Alpha: 3, Beta: 1}

// Mean is the posterior mean accuracy.
func (s Skill) Mean() float64 { return s.Alpha / (s.Alpha + s.Beta) }

// Update adds one scored answer; score is the share of it that was right
// (0 or 1 for a label, a fraction for a form of fields).
func (s Skill) Update(score float64) Skill {
	score = min(1, max(0, score))
	return Skill{Alpha: s.Alpha + score, Beta: s.Beta + 1 - score, N: s.N + 1}
}

// Below reports whether the skill has fallen under minAccuracy with at
// least minN scored answers behind it. minAccuracy 0 means never.
func (s Skill) Below(minAccuracy float64, minN int) bool {
	return minAccuracy > 0 && s.N >= minN && s.Mean() < minAccuracy
}

// WeightedPolicy is Policy for DecideWeighted.
type WeightedPolicy struct {
	Overlap, MaxOverlap int
	// Target is the posterior the leading answer of every key must reach.
	Target float64
	// Classes gives, per key, how many answers are possible (the labels of
	// a classify project, 2 for one label of a multi-label project). Keys
	// not listed are free text, where two wrong answers rarely match.
	Classes map[string]int
}

// freeTextClasses stands for "many possible answers" on free-text keys.
const freeTextClasses = 1000

// DecideWeighted settles a task by the posterior probability of each key's
// leading answer, each ballot weighed by its worker's accuracy acc[i] under
// the one-coin model (right with probability acc, else any other answer
// alike) and a uniform prior. A worker at chance level adds nothing; a
// strong worker can settle a task alone if the target allows. It is
// deterministic and order-free.
func DecideWeighted(ballots []Ballot, acc []float64, p WeightedPolicy) Decision {
	n := len(ballots)
	if n < p.Overlap || n == 0 {
		return Decision{Outcome: NeedMore, Want: max(p.Overlap, 1)}
	}
	sorted := sortedKeys(ballots)
	winners := make(map[string]string, len(sorted))
	confidence := 1.0
	for _, key := range sorted {
		k := p.Classes[key]
		if k < 2 {
			k = freeTextClasses
		}
		v, post := posterior(ballots, acc, key, k)
		winners[key] = v
		confidence = min(confidence, post)
	}
	if confidence >= p.Target {
		return Decision{Outcome: Settled, Winners: winners, Confidence: confidence, Want: n}
	}
	if n < p.MaxOverlap {
		return Decision{Outcome: NeedMore, Want: n + 1}
	}
	return Decision{Outcome: NeedsReview, Want: n, Winners: winners, Confidence: confidence}
}

// posterior returns the most probable value of one key and its posterior.
// Values no ballot gave share the remaining k-len(seen) classes.
func posterior(ballots []Ballot, acc []float64, key string, k int) (string, float64) {
	seen := map[string]float64{} // value → log-likelihood
	var values []string
	for _, b := range ballots {
		v := b[key]
		if _, ok := seen[v]; !ok {
			seen[v] = 0
			values = append(values, v)
		}
	}
	sort.Strings(values)
	unseen := 0.0
	for i, b := range ballots {
		a := min(0.999, max(0.001, acc[i]))
		right, wrong := math.Log(a), math.Log((1-a)/float64(k-1))
		for _, v := range values {
			if b[key] == v {
				seen[v] += right
			} else {
				seen[v] += wrong
			}
		}
		unseen += wrong
	}
	m := unseen
	for _, v := range values {
		m = max(m, seen[v])
	}
	rest := max(0, k-len(values))
	total := float64(rest) * math.Exp(unseen-m)
	best, bestLL := "", math.Inf(-1)
	for _, v := range values {
		total += math.Exp(seen[v] - m)
		if seen[v] > bestLL {
			best, bestLL = v, seen[v]
		}
	}
	return best, math.Exp(bestLL-m) / total
}

// Wilson returns the Wilson score interval for a proportion: right
// successes out of n, at the normal quantile z (1.96 for 95 %). Unlike the
// plain normal interval it stays inside [0, 1] and behaves at small n and
// at proportions near 0 or 1.
func Wilson(right, n, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := right / n
	z2 := z * z
	center := (p + z2/(2*n)) / (1 + z2/n)
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / (1 + z2/n)
	return max(0, center-half), min(1, center+half)
}

// dsWeight is how much one label of a Dawid–Skene re-fit counts beside one
// scored answer, and dsCap bounds how many labels count at all: the re-fit
// is an estimate from unchecked answers, so it refines the gold and review
// record without drowning it.
const (
	dsWeight = 0.5
	dsCap    = 50
)

// WithRefit folds a re-fit's estimate of the worker's accuracy, from their
// labels in the project, into the skill as extra pseudo-observations.
func (s Skill) WithRefit(accuracy float64, labels int) Skill {
	if labels <= 0 || math.IsNaN(accuracy) {
		return s
	}
	w := dsWeight * float64(min(labels, dsCap))
	accuracy = min(1, max(0, accuracy))
	return Skill{Alpha: s.Alpha + w*accuracy, Beta: s.Beta + w*(1-accuracy), N: s.N}
}
