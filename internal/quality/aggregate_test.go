package quality

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func load1979(t *testing.T) *Labels {
	t.Helper()
	f, err := os.Open("testdata/ds1979_labels.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	b := NewLabelsBuilder(len(rows))
	for _, r := range rows[1:] {
		b.Add(r[0], r[1], r[2])
	}
	l, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// Plain EM without smoothing reproduces Dawid and Skene's 1979 example.
func TestDawidSkene1979(t *testing.T) {
	t.Parallel()
	l := load1979(t)
	if l.NumTasks() != 45 || l.NumWorkers() != 5 || len(l.Task) != 315 {
		t.Fatalf("fixture: %d tasks, %d workers, %d labels", l.NumTasks(), l.NumWorkers(), len(l.Task))
	}
	first, err := Aggregate(l, DS, Options{Smoothing: 0, MaxIterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !near(first.LogLikelihood, -205.091138294, 1e-6) {
		t.Fatalf("log-likelihood after iteration 1: got %.9f, want -205.091138294", first.LogLikelihood)
	}
	e, err := Aggregate(l, DS, Options{Smoothing: 0, Tolerance: 1e-12, MaxIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !near(e.LogLikelihood, -192.890882351, 1e-5) {
		t.Fatalf("final log-likelihood: got %.9f, want -192.890882351", e.LogLikelihood)
	}
	for j, want := range []float64{0.40, 0.42, 0.11, 0.07} {
		if !near(e.Priors[j], want, 0.005) {
			t.Errorf("class %d marginal: got %.4f, want %.2f", j+1, e.Priors[j], want)
		}
	}
	// Observer 1's error rates, as printed in the reference.
	obs1 := [][]float64{{0.89, 0.11, 0, 0}, {0.07, 0.88, 0.05, 0}, {0, 0.34, 0.66, 0}, {0, 0, 0.56, 0.44}}
	w := indexOf(l.WorkerNames, "1")
	k := l.NumClasses()
	for j, row := range obs1 {
		for c, want := range row {
			if got := e.Confusion[(w*k+j)*k+c]; !near(got, want, 0.006) {
				t.Errorf("observer 1, true %d, said %d: got %.3f, want %.2f", j+1, c+1, got, want)
			}
		}
	}
	posteriors := map[string][]float64{
		"7":  {0.981, 0.019, 0, 0},
		"35": {0, 0.948, 0.052, 0},
		"38": {0, 0.0212, 0.9788, 0},
		"2":  {0, 0, 0, 1},
	}
	for task, want := range posteriors {
		ti := indexOf(l.TaskNames, task)
		for c, p := range want {
			if got := e.Posterior[ti*k+c]; !near(got, p, 0.001) {
				t.Errorf("patient %s class %d: got %.4f, want %.4f", task, c+1, got, p)
			}
		}
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// A synthetic crowd with known truth: good workers, a spammer and an
// adversary who always says the other label.
func synthetic(seed uint64, shuffle bool) (*Labels, map[string]string) {
	rng := rand.New(rand.NewPCG(seed, 7))
	type row struct{ t, w, c string }
	var rows []row
	gold := map[string]string{}
	classes := []string{"cat", "dog", "bird"}
	skill := []float64{0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.33}
	for i := range 400 {
		task := "t" + string(rune('A'+i%26)) + itoa(i)
		truth := classes[rng.IntN(3)]
		gold[task] = truth
		for w, s := range skill {
			if rng.Float64() > 0.6 {
				continue
			}
			c := truth
			if rng.Float64() > s {
				c = classes[rng.IntN(3)]
			}
			rows = append(rows, row{task, "w" + itoa(w), c})
		}
		rows = append(rows, row{task, "adversary", classes[(indexOf(classes, truth)+1)%3]})
	}
	if shuffle {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	b := NewLabelsBuilder(len(rows))
	for _, r := range rows {
		b.Add(r.t, r.w, r.c)
	}
	l, _ := b.Build()
	return l, gold
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestMethodsOnSyntheticCrowd(t *testing.T) {
	t.Parallel()
	l, gold := synthetic(1, false)
	shuffled, _ := synthetic(1, true)
	floor := map[Method]float64{MV: 0.6, Wawa: 0.6, OneCoin: 0.8, DS: 0.9, GLAD: 0.8}
	for _, m := range Methods {
		e, err := Aggregate(l, m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		acc, n := e.Accuracy(gold)
		if n != 400 || acc < floor[m] {
			t.Errorf("%s: accuracy %.3f over %d tasks, want at least %.2f over 400", m, acc, n, floor[m])
		}
		for i, p := range e.Posterior {
			if math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("%s: posterior[%d] = %v", m, i, p)
			}
		}
		for w, s := range e.Skill {
			if math.IsNaN(s) {
				t.Fatalf("%s: skill of %s is NaN", m, l.WorkerNames[w])
			}
		}
		// The same labels in another order give the same answers.
		e2, _ := Aggregate(shuffled, m, Options{})
		for ti, name := range l.TaskNames {
			c1, p1 := e.Best(ti)
			c2, p2 := e2.Best(indexOf(shuffled.TaskNames, name))
			if c1 != c2 || !near(p1, p2, 1e-9) {
				t.Fatalf("%s: task %s: %d (%.12f) vs %d (%.12f) after shuffling", m, name, c1, p1, c2, p2)
			}
		}
	}
	// DS sees the adversary for what it is: reliably wrong, yet useful.
	e, _ := Aggregate(l, DS, Options{})
	if s := e.Skill[indexOf(l.WorkerNames, "adversary")]; s > 0.05 {
		t.Errorf("adversary's estimated accuracy %.3f, want near 0", s)
	}
}

// Smoothing keeps a worker seen once, on a class seen once, from producing
// zeros that turn into NaN.
func TestSmoothingOnSparseWorkers(t *testing.T) {
	t.Parallel()
	b := NewLabelsBuilder(8)
	b.Add("a", "w1", "x")
	b.Add("a", "w2", "x")
	b.Add("b", "w1", "y")
	b.Add("b", "w3", "z")
	b.Add("c", "w4", "z")
	l, _ := b.Build()
	for _, m := range []Method{OneCoin, DS, GLAD} {
		e, err := Aggregate(l, m, Options{Smoothing: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range e.Posterior {
			if math.IsNaN(p) {
				t.Fatalf("%s: posterior[%d] is NaN", m, i)
			}
		}
		if math.IsNaN(e.LogLikelihood) {
			t.Fatalf("%s: log-likelihood is NaN", m)
		}
	}
	// Without smoothing the fit still returns numbers, not NaN.
	e, _ := Aggregate(l, DS, Options{Smoothing: 0})
	for i, p := range e.Posterior {
		if math.IsNaN(p) {
			t.Fatalf("unsmoothed: posterior[%d] is NaN", i)
		}
	}
}

func TestOneClass(t *testing.T) {
	t.Parallel()
	b := NewLabelsBuilder(2)
	b.Add("a", "w1", "yes")
	b.Add("b", "w2", "yes")
	l, _ := b.Build()
	for _, m := range Methods {
		e, err := Aggregate(l, m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c, p := e.Best(0); c != 0 || p != 1 {
			t.Fatalf("%s: got class %d with %v, want the one class with 1", m, c, p)
		}
	}
}

func TestParseMethod(t *testing.T) {
	t.Parallel()
	for _, m := range Methods {
		if got, err := ParseMethod(string(m)); err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := ParseMethod("bayes"); err == nil {
		t.Errorf("ParseMethod(bayes): got nil error")
	}
}
