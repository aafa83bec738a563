package quality

import (
	"fmt"
	"math"
)

// Method names an aggregation method.
type Method string

// The aggregation methods.
const (
	MV      Method = "mv"      // majority vote
	Wawa    Method = "wawa"    // vote weighted by each worker's agreement with the majority
	OneCoin Method = "onecoin" // Dawid–Skene with one accuracy per worker
	DS      Method = "ds"      // Dawid–Skene with a full confusion matrix per worker
	GLAD    Method = "glad"    // worker ability and task difficulty (Whitehill et al. 2009)
)

// Methods lists every method, in the order they are documented.
var Methods = []Method{MV, Wawa, OneCoin, DS, GLAD}

// ParseMethod returns the method named s.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown aggregation method %q (allowed: mv, wawa, onecoin, ds, glad)", s)
}

// Options tune the iterative methods.
type Options struct {
	// Smoothing is the pseudo-count added to every cell of a worker's
	// confusion counts (and to every class count), so that a worker seen
	// on few tasks cannot produce a zero probability or a NaN. Zero turns
	// it off, which is the textbook algorithm.
	Smoothing float64
	// Tolerance stops EM when the log-likelihood changes by less than this
	// fraction of itself between iterations.
	Tolerance float64
	// MaxIterations bounds EM whatever the tolerance says.
	MaxIterations int
}

// DefaultOptions are what Aggregate uses for zero fields.
var DefaultOptions = Options{Smoothing: 0.01, Tolerance: 1e-5, MaxIterations: 500}

func (o Options) withDefaults() Options {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultOptions.Tolerance
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultOptions.MaxIterations
	}
	if o.Smoothing < 0 {
		o.Smoothing = 0
	}
	return o
}

// Aggregate estimates every task's true class and every worker's skill
// with method m. It is deterministic: the same labels give the same
// estimate, whatever order they came in.
func Aggregate(l *Labels, m Method, o Options) (*Estimate, error) {
	o = o.withDefaults()
	if l.NumClasses() == 1 && m != MV && m != Wawa {
		// One class: nothing to estimate, and the error models divide by K-1.
		e := majority(l, nil)
		e.Method = string(m)
		return e, nil
	}
	switch m {
	case MV:
		return majority(l, nil), nil
	case Wawa:
		return wawa(l), nil
	case OneCoin:
		return dawidSkene(l, o, true), nil
	case DS:
		return dawidSkene(l, o, false), nil
	case GLAD:
		return glad(l, o), nil
	}
	return nil, fmt.Errorf("quality: unknown method %q", m)
}

// majority is a (weighted) vote: each task's posterior is the share of
// weight behind each class. weight nil means one vote each.
func majority(l *Labels, weight []float64) *Estimate {
	e := &Estimate{Method: string(MV), Labels: l, Posterior: votes(l, weight)}
	e.Skill = agreement(l, e)
	return e
}

// votes returns each task's share of (weighted) votes per class.
func votes(l *Labels, weight []float64) []float64 {
	k := l.NumClasses()
	post := make([]float64, l.NumTasks()*k)
	for i, t := range l.Task {
		w := 1.0
		if weight != nil {
			w = weight[l.Worker[i]]
		}
		post[int(t)*k+int(l.Class[i])] += w
	}
	for t := 0; t < l.NumTasks(); t++ {
		normalize(post[t*k : (t+1)*k])
	}
	return post
}

// agreement is each worker's share of labels that match the estimate's
// best class.
func agreement(l *Labels, e *Estimate) []float64 {
	best := make([]int32, l.NumTasks())
	for t := range best {
		c, _ := e.Best(t)
		best[t] = int32(c)
	}
	right := make([]float64, l.NumWorkers())
	total := make([]float64, l.NumWorkers())
	for i, w := range l.Worker {
		total[w]++
		if l.Class[i] == best[l.Task[i]] {
			right[w]++
		}
	}
	for w := range right {
		right[w] /= total[w]
	}
	return right
}

// wawa weighs each worker's vote by how often they agree with the plain
// majority.
func wawa(l *Labels) *Estimate {
	mv := majority(l, nil)
	e := majority(l, mv.Skill)
	e.Method = string(Wawa)
	e.Skill = mv.Skill
	return e
}

// normalize scales row to sum to one; a row of zeros becomes uniform.
func normalize(row []float64) {
	s := 0.0
	for _, v := range row {
		s += v
	}
	if s <= 0 || math.IsNaN(s) {
		for i := range row {
			row[i] = 1 / float64(len(row))
		}
		return
	}
	for i := range row {
		row[i] /= s
	}
}

// eStep sets each task's posterior from the class log-priors and the
// per-worker log-probabilities, and returns the log-likelihood of the
// labels. logPi[(w*K+l)*K+j] is the log-chance that worker w answers l when
// the truth is j; off[i] is label i's row, (worker*K+class)*K, so the K
// values a label adds are side by side. It works in log space so long
// label runs cannot underflow.
func eStep(l *Labels, off []int32, logPrior, logPi, post []float64) float64 {
	k := len(logPrior)
	s := make([]float64, k)
	ll := 0.0
	// The sum of each task's exponentials lies in [1, K]; multiplying them
	// up and taking one log every few dozen tasks is exact enough and saves
	// most of the logarithms.
	prod, inProd := 1.0, 0
	for t := 0; t < l.NumTasks(); t++ {
		copy(s, logPrior)
		for _, o := range off[l.taskStart[t]:l.taskStart[t+1]] {
			row := logPi[o : int(o)+k]
			for j, v := range row {
				s[j] += v
			}
		}
		m, sum := softmax(s, post[t*k:(t+1)*k])
		if sum == 0 {
			continue
		}
		ll += m
		prod *= sum
		if inProd++; inProd == 32 {
			ll += math.Log(prod)
			prod, inProd = 1, 0
		}
	}
	return ll + math.Log(prod)
}

// softmax sets row to the normalised exponentials of the log-scores s and
// returns their maximum m and the sum of e^(s-m), so the log of the
// normaliser is m + log(sum). When no class can explain the labels under the
// current model (every score -Inf, possible only without smoothing) the row
// becomes uniform and sum is 0.
func softmax(s, row []float64) (m, sum float64) {
	m = math.Inf(-1)
	for _, v := range s {
		m = max(m, v)
	}
	if math.IsInf(m, -1) {
		for j := range row {
			row[j] = 1 / float64(len(row))
		}
		return m, 0
	}
	for j, v := range s {
		p := 1.0 // the best class's share is e^0: no exponential needed
		if v != m {
			p = math.Exp(v - m)
		}
		row[j] = p
		sum += p
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
	return m, sum
}

// converged reports whether EM may stop: the log-likelihood moved by no
// more than tol of itself.
func converged(ll, prev, tol float64) bool { return math.Abs(ll-prev) <= tol*math.Abs(ll) }

// expAll returns e^x for each x.
func expAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Exp(x)
	}
	return out
}

// offsets returns each label's row in a table of K×K values per worker
// laid out as [worker][observed class][true class].
func offsets(l *Labels) []int32 {
	k := int32(l.NumClasses())
	off := make([]int32, len(l.Task))
	for i, w := range l.Worker {
		off[i] = (w*k + l.Class[i]) * k
	}
	return off
}

// priorsFrom estimates class frequencies from posteriors, with smoothing.
func priorsFrom(l *Labels, post []float64, smoothing float64, logPrior []float64) {
	k := len(logPrior)
	counts := make([]float64, k)
	for t := 0; t < l.NumTasks(); t++ {
		for j := range k {
			counts[j] += post[t*k+j]
		}
	}
	total := float64(l.NumTasks()) + smoothing*float64(k)
	for j := range k {
		logPrior[j] = math.Log((counts[j] + smoothing) / total)
	}
}

// dawidSkene fits the Dawid–Skene model by EM, starting from the majority
// vote. With oneCoin each worker has a single accuracy and spreads errors
// evenly over the other classes; otherwise each has a full confusion
// matrix. EM stops when the log-likelihood settles (Options.Tolerance).
func dawidSkene(l *Labels, o Options, oneCoin bool) *Estimate {
	k := l.NumClasses()
	nw := l.NumWorkers()
	post := votes(l, nil)
	logPrior := make([]float64, k)
	logPi := make([]float64, nw*k*k)
	counts := make([]float64, nw*k*k)
	right := make([]float64, nw) // one-coin: expected correct labels per worker
	seen := make([]float64, nw)
	for _, w := range l.Worker {
		seen[w]++
	}
	off := offsets(l)
	e := &Estimate{Method: string(DS), Labels: l, Posterior: post}
	if oneCoin {
		e.Method = string(OneCoin)
	}
	prev := math.Inf(-1)
	for iter := 1; iter <= o.MaxIterations; iter++ {
		// M-step: class priors and worker error rates from the posteriors.
		priorsFrom(l, post, o.Smoothing, logPrior)
		if oneCoin {
			clear(right)
			for i, t := range l.Task {
				right[l.Worker[i]] += post[int(t)*k+int(l.Class[i])]
			}
			for w := range nw {
				acc := (right[w] + o.Smoothing) / (seen[w] + 2*o.Smoothing)
				la, lo := math.Log(acc), math.Log((1-acc)/float64(k-1))
				for c := range k {
					for j := range k {
						if j == c {
							logPi[(w*k+c)*k+j] = la
						} else {
							logPi[(w*k+c)*k+j] = lo
						}
					}
				}
			}
		} else {
			clear(counts)
			for i, t := range l.Task {
				cell := counts[off[i] : int(off[i])+k]
				for j, p := range post[int(t)*k : int(t)*k+k] {
					cell[j] += p
				}
			}
			// Normalise each worker's row for true class j over the
			// observed classes c (a stride of K in this layout).
			for w := range nw {
				base := w * k * k
				for j := range k {
					sum := 0.0
					for c := range k {
						sum += counts[base+c*k+j] + o.Smoothing
					}
					for c := range k {
						i := base + c*k + j
						if sum > 0 {
							logPi[i] = math.Log((counts[i] + o.Smoothing) / sum)
						} else {
							// A worker never seen with this true class: no
							// information, so no preference.
							logPi[i] = -math.Log(float64(k))
						}
					}
				}
			}
		}
		// E-step: posteriors and the log-likelihood they imply.
		ll := eStep(l, off, logPrior, logPi, post)
		e.Iterations, e.LogLikelihood = iter, ll
		if converged(ll, prev, o.Tolerance) {
			break
		}
		prev = ll
	}
	e.Priors = expAll(logPrior)
	e.Confusion = make([]float64, nw*k*k)
	e.Skill = make([]float64, nw)
	for w := range nw {
		for j := range k {
			for c := range k {
				p := math.Exp(logPi[(w*k+c)*k+j])
				e.Confusion[(w*k+j)*k+c] = p
				if j == c {
					e.Skill[w] += e.Priors[j] * p
				}
			}
		}
	}
	if oneCoin {
		e.Confusion = nil
	}
	return e
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// glad fits GLAD: worker w answers task t correctly with probability
// σ(α_w·β_t), where α is the worker's ability and β = exp(b) > 0 the task's
// ease, and spreads errors evenly over the other classes. EM alternates
// posteriors with a few damped Newton steps on α and b under N(1,1) and
// N(0,1) priors, which keep them finite on workers and tasks with few
// labels. As in the original paper the class prior is fixed and uniform:
// learning it lets the fit drift to the commonest class on sets where many
// workers are poor.
func glad(l *Labels, o Options) *Estimate {
	k := l.NumClasses()
	nw, nt := l.NumWorkers(), l.NumTasks()
	post := votes(l, nil)
	// Start each worker's ability from their agreement with the majority.
	alpha := agreement(l, &Estimate{Labels: l, Posterior: post})
	for w, a := range alpha {
		a = min(0.99, max(0.01, a))
		alpha[w] = math.Log(a / (1 - a))
	}
	b := make([]float64, nt)
	logPrior := make([]float64, k)
	pc := make([]float64, len(l.Task)) // chance each label is correct
	ga, ha := make([]float64, nw), make([]float64, nw)
	gb, hb := make([]float64, nt), make([]float64, nt)
	s := make([]float64, k)
	e := &Estimate{Method: string(GLAD), Labels: l, Posterior: post}
	prev := math.Inf(-1)
	logOther := math.Log(float64(k - 1))
	for j := range logPrior {
		logPrior[j] = -math.Log(float64(k))
	}
	for iter := 1; iter <= o.MaxIterations; iter++ {
		for i, t := range l.Task {
			pc[i] = post[int(t)*k+int(l.Class[i])]
		}
		for range 3 {
			for w := range nw {
				ga[w], ha[w] = -(alpha[w] - 1), 1
			}
			for i, t := range l.Task {
				w := l.Worker[i]
				beta := math.Exp(b[t])
				sg := sigmoid(alpha[w] * beta)
				ga[w] += (pc[i] - sg) * beta
				ha[w] += sg * (1 - sg) * beta * beta
			}
			for w := range nw {
				alpha[w] = min(10, max(-10, alpha[w]+min(1, max(-1, ga[w]/ha[w]))))
			}
			for t := range nt {
				gb[t], hb[t] = -b[t], 1
			}
			for i, t := range l.Task {
				a := alpha[l.Worker[i]]
				z := a * math.Exp(b[t])
				sg := sigmoid(z)
				gb[t] += (pc[i] - sg) * z
				hb[t] += sg * (1 - sg) * z * z
			}
			for t := range nt {
				b[t] = min(5, max(-5, b[t]+min(1, max(-1, gb[t]/hb[t]))))
			}
		}
		// E-step with the per-label probabilities.
		ll := 0.0
		for t := range nt {
			copy(s, logPrior)
			beta := math.Exp(b[t])
			for i := l.taskStart[t]; i < l.taskStart[t+1]; i++ {
				z := alpha[l.Worker[i]] * beta
				// log σ(z) and log(1-σ(z)) computed stably.
				lr := -math.Log1p(math.Exp(-z))
				lw := -math.Log1p(math.Exp(z)) - logOther
				c := int(l.Class[i])
				for j := range s {
					if j == c {
						s[j] += lr
					} else {
						s[j] += lw
					}
				}
			}
			m, sum := softmax(s, post[t*k:(t+1)*k])
			ll += m + math.Log(sum)
		}
		e.Iterations, e.LogLikelihood = iter, ll
		if converged(ll, prev, o.Tolerance) {
			break
		}
		prev = ll
	}
	e.Priors = expAll(logPrior)
	e.Skill = make([]float64, nw)
	for w := range nw {
		e.Skill[w] = sigmoid(alpha[w])
	}
	return e
}
