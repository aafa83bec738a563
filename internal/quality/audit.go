package quality

import (
	"maps"
	"math"
	"slices"
)

// AuditGroup is one reviewer's blind audits of results: how many of their
// verdicts agreed with the result the workers' answers delivered and how
// many did not, beside what is known of the reviewer's own accuracy.
type AuditGroup struct {
	Agreed, Disagreed int
	// Reviewer is the reviewer's skill at the kind of task: their record
	// on gold and review. A reviewer is taken to be better than a coin:
	// the part of it below one half is not used.
	Reviewer Skill
}

// AuditEstimate is the accuracy of results measured by audits.
type AuditEstimate struct {
	// Value is the posterior mean; Low and High bound the central 95 %
	// of the posterior, or the upper (lower) 95 % where its mode is at 1
	// (0).
	Value, Low, High float64
	// Raw is the plain share of audits that agreed, which counts every
	// slip of a reviewer as an error of the result.
	Raw float64
	// Audits is how many audits are behind it.
	Audits int
}

// The grids the posterior is summed over: the result accuracy θ on
// [0, 1] and a reviewer's accuracy ρ on [½, 1], at their midpoints.
const (
	thetaSteps = 500
	rhoSteps   = 100
)

// AuditAccuracy estimates the accuracy θ of the results a set of audits
// checked, allowing for the reviewers' own errors. A verdict agrees with
// a result when both are right, or when both are wrong and happen to
// match, which chance is the probability of:
//
//	P(agree) = θρ + (1−θ)(1−ρ)·chance
//
// chance is 1/(K−1) for a single label of K classes (a wrong verdict and
// a wrong result, each spread evenly over the other classes, coincide
// that often; 1 for two classes), and about 0 where wrong answers rarely
// match (forms, free text, multi-label answers). θ has a uniform prior; each
// reviewer's ρ has their Beta skill as prior, cut to [½, 1], and is
// integrated out, so a reviewer with little record widens the interval
// rather than being trusted. The result is a 95 % interval of the
// posterior (see interval), summed on a grid; it is deterministic. ok is false with no audits.
func AuditAccuracy(groups []AuditGroup, chance float64, results int) (est AuditEstimate, ok bool) {
	chance = min(1, max(0, chance))
	agreed, n := 0, 0
	for _, g := range groups {
		agreed += g.Agreed
		n += g.Agreed + g.Disagreed
	}
	if n == 0 {
		return AuditEstimate{}, false
	}
	// logPost[i] is the log posterior of θ at the grid's i-th point, up
	// to a constant: the sum over reviewers of the log of their audits'
	// likelihood with ρ integrated out.
	logPost := make([]float64, thetaSteps)
	terms := make([]float64, rhoSteps)
	rhoPrior := make([]float64, rhoSteps)
	for _, g := range groups {
		if g.Agreed+g.Disagreed == 0 {
			continue
		}
		a, b := max(g.Reviewer.Alpha, 1e-3), max(g.Reviewer.Beta, 1e-3)
		for j := range rhoPrior {
			rho := 0.5 + (float64(j)+0.5)/(2*rhoSteps)
			rhoPrior[j] = (a-1)*math.Log(rho) + (b-1)*math.Log1p(-rho)
		}
		for i := range logPost {
			theta := (float64(i) + 0.5) / thetaSteps
			for j := range terms {
				rho := 0.5 + (float64(j)+0.5)/(2*rhoSteps)
				p := theta*rho + (1-theta)*(1-rho)*chance
				terms[j] = rhoPrior[j] + float64(g.Agreed)*math.Log(p) + float64(g.Disagreed)*math.Log1p(-p)
			}
			logPost[i] += logSumExp(terms)
		}
	}
	top := slices.Max(logPost)
	post := make([]float64, thetaSteps)
	total := 0.0
	for i, l := range logPost {
		post[i] = math.Exp(l - top)
		total += post[i]
	}
	mean := 0.0
	for i := range post {
		post[i] /= total
		mean += post[i] * (float64(i) + 0.5) / thetaSteps
	}
	lo, hi := interval(post, 0.95)
	if results >= n {
		lo, hi = batchInterval(post, results, 0.95)
	}
	return AuditEstimate{
		Value:  mean,
		Low:    lo,
		High:   hi,
		Raw:    float64(agreed) / float64(n),
		Audits: n,
	}, true
}

// logSumExp is log(Σ exp(x)) without overflow.
func logSumExp(xs []float64) float64 {
	m := slices.Max(xs)
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// batchInterval is the central interval holding a share q of the
// predictive distribution of the share of n results that are right, when
// θ has the posterior post on the grid: each θ adds its Binomial(n, θ) to
// the distribution of the count right. Counts whose chance is under
// 1e-12 of a θ's are left out, so the work grows with √n, not n.
func batchInterval(post []float64, n int, q float64) (lo, hi float64) {
	dist := make(map[int]float64)
	lgN, _ := math.Lgamma(float64(n) + 1)
	for i, w := range post {
		if w < 1e-12 {
			continue
		}
		theta := (float64(i) + 0.5) / float64(len(post))
		mean, sd := float64(n)*theta, math.Sqrt(float64(n)*theta*(1-theta))
		from, to := max(0, int(mean-8*sd-2)), min(n, int(mean+8*sd+2))
		lt, l1t := math.Log(theta), math.Log1p(-theta)
		for k := from; k <= to; k++ {
			lk, _ := math.Lgamma(float64(k) + 1)
			lnk, _ := math.Lgamma(float64(n-k) + 1)
			dist[k] += w * math.Exp(lgN-lk-lnk+float64(k)*lt+float64(n-k)*l1t)
		}
	}
	ks := slices.Sorted(maps.Keys(dist))
	total := 0.0
	for _, k := range ks {
		total += dist[k]
	}
	cum, lo, hi := 0.0, -1.0, 1.0
	for _, k := range ks {
		cum += dist[k] / total
		if lo < 0 && cum >= (1-q)/2 {
			lo = float64(k) / float64(n)
		}
		if cum >= (1+q)/2 {
			hi = float64(k) / float64(n)
			break
		}
	}
	return max(lo, 0), hi
}

// interval returns the central interval holding a share q of the
// probability mass post over the grid [0, 1]; where the mass piles up
// against an end (the posterior's mode is in the first or last cell, as
// for results that are nearly all right), it is the one-sided interval
// reaching that end instead, which a central interval never would.
func interval(post []float64, q float64) (lo, hi float64) {
	mode := 0
	for i, p := range post {
		if p > post[mode] {
			mode = i
		}
	}
	switch mode {
	case len(post) - 1:
		return quantile(post, 1-q), 1
	case 0:
		return 0, quantile(post, q)
	}
	return quantile(post, (1-q)/2), quantile(post, (1+q)/2)
}

// quantile is the point of the grid [0, 1] below which a share q of the
// probability mass post lies, interpolated within its cell.
func quantile(post []float64, q float64) float64 {
	cum := 0.0
	for i, p := range post {
		if cum+p >= q {
			return (float64(i) + (q-cum)/p) / float64(len(post))
		}
		cum += p
	}
	return 1
}
