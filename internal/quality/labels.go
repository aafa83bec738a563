package quality

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Labels is a set of crowd labels in the flat form the aggregation methods
// work on: tasks, workers and classes are numbered, and the i-th label is
// (Task[i], Worker[i], Class[i]). Build one with a LabelsBuilder.
type Labels struct {
	TaskNames   []string
	WorkerNames []string
	ClassNames  []string // sorted, so results do not depend on input order
	Task        []int32
	Worker      []int32
	Class       []int32

	// Labels are kept sorted by task (stable, so each task's labels keep
	// their input order): the labels of task t are [taskStart[t],
	// taskStart[t+1]). The inner loops then walk memory in order.
	taskStart []int32
}

// NumTasks, NumWorkers and NumClasses are the sizes of the set.
func (l *Labels) NumTasks() int   { return len(l.TaskNames) }
func (l *Labels) NumWorkers() int { return len(l.WorkerNames) }
func (l *Labels) NumClasses() int { return len(l.ClassNames) }

// LabelsBuilder collects labels given by name.
type LabelsBuilder struct {
	tasks, workers, classes map[string]int32
	l                       Labels
}

// NewLabelsBuilder returns an empty builder; n is a hint of how many labels
// will come.
func NewLabelsBuilder(n int) *LabelsBuilder {
	return &LabelsBuilder{
		tasks: map[string]int32{}, workers: map[string]int32{}, classes: map[string]int32{},
		l: Labels{Task: make([]int32, 0, n), Worker: make([]int32, 0, n), Class: make([]int32, 0, n)},
	}
}

func intern(m map[string]int32, names *[]string, s string) int32 {
	if id, ok := m[s]; ok {
		return id
	}
	id := int32(len(*names))
	*names = append(*names, s)
	m[s] = id
	return id
}

// Add records that worker gave task the label class. Repeats are kept: a
// worker who labelled a task twice counts twice, as in the source data.
func (b *LabelsBuilder) Add(task, worker, class string) {
	b.l.Task = append(b.l.Task, intern(b.tasks, &b.l.TaskNames, task))
	b.l.Worker = append(b.l.Worker, intern(b.workers, &b.l.WorkerNames, worker))
	b.l.Class = append(b.l.Class, intern(b.classes, &b.l.ClassNames, class))
}

// AddBytes is Add for names held in byte slices; it copies a name only the
// first time it is seen.
func (b *LabelsBuilder) AddBytes(task, worker, class []byte) {
	b.l.Task = append(b.l.Task, internBytes(b.tasks, &b.l.TaskNames, task))
	b.l.Worker = append(b.l.Worker, internBytes(b.workers, &b.l.WorkerNames, worker))
	b.l.Class = append(b.l.Class, internBytes(b.classes, &b.l.ClassNames, class))
}

func internBytes(m map[string]int32, names *[]string, s []byte) int32 {
	if id, ok := m[string(s)]; ok {
		return id
	}
	return intern(m, names, string(s))
}

// Len is how many labels have been added.
func (b *LabelsBuilder) Len() int { return len(b.l.Task) }

// Build finishes the set: classes are renumbered in sorted order and labels
// are indexed by task. The builder must not be used afterwards.
func (b *LabelsBuilder) Build() (*Labels, error) {
	l := &Labels{}
	*l, b.l = b.l, Labels{}
	if len(l.Task) == 0 {
		return nil, fmt.Errorf("quality: no labels")
	}
	if len(l.ClassNames) > 1<<12 {
		return nil, fmt.Errorf("quality: %d distinct labels; at most %d classes are supported", len(l.ClassNames), 1<<12)
	}
	sorted := slices.Clone(l.ClassNames)
	sort.Strings(sorted)
	remap := make([]int32, len(sorted))
	for newID, name := range sorted {
		remap[b.classes[name]] = int32(newID)
	}
	for i, c := range l.Class {
		l.Class[i] = remap[c]
	}
	l.ClassNames = sorted
	l.index()
	return l, nil
}

// index sorts the labels by task with a stable counting sort.
func (l *Labels) index() {
	n := l.NumTasks()
	l.taskStart = make([]int32, n+1)
	for _, t := range l.Task {
		l.taskStart[t+1]++
	}
	for t := 0; t < n; t++ {
		l.taskStart[t+1] += l.taskStart[t]
	}
	next := slices.Clone(l.taskStart[:n])
	task := make([]int32, len(l.Task))
	worker := make([]int32, len(l.Task))
	class := make([]int32, len(l.Task))
	for i, t := range l.Task {
		j := next[t]
		next[t]++
		task[j], worker[j], class[j] = t, l.Worker[i], l.Class[i]
	}
	l.Task, l.Worker, l.Class = task, worker, class
}

// Estimate is what an aggregation method concludes.
type Estimate struct {
	Method string
	Labels *Labels
	// Posterior holds, for task t and class c, the probability that c is
	// t's true class, at Posterior[t*K+c].
	Posterior []float64
	// Skill is each worker's estimated accuracy: the chance their label is
	// right on a task drawn like the ones in the set.
	Skill []float64
	// Confusion holds, for Dawid–Skene, worker w's chance of answering l
	// when the truth is j at Confusion[(w*K+j)*K+l]; nil for other methods.
	Confusion []float64
	// Priors are the estimated class frequencies (nil for vote methods).
	Priors        []float64
	Iterations    int
	LogLikelihood float64
}

// Best returns task t's most probable class and its posterior probability.
// Ties go to the class that sorts first.
func (e *Estimate) Best(t int) (class int, p float64) {
	k := e.Labels.NumClasses()
	row := e.Posterior[t*k : (t+1)*k]
	for c, v := range row {
		if v > p {
			class, p = c, v
		}
	}
	return class, p
}

// Accuracy is the share of the gold tasks that have labels on which the
// estimate's best class is the gold one; n is how many gold tasks counted.
func (e *Estimate) Accuracy(gold map[string]string) (acc float64, n int) {
	right := 0
	for t, name := range e.Labels.TaskNames {
		want, ok := gold[name]
		if !ok {
			continue
		}
		n++
		if c, _ := e.Best(t); e.Labels.ClassNames[c] == want {
			right++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return float64(right) / float64(n), n
}
