package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// RefitReport says what a re-fit did.
type RefitReport struct {
	ProjectID  string  `json:"project_id"`
	Labels     int     `json:"labels"`
	Tasks      int     `json:"tasks"`
	Workers    int     `json:"workers"`
	Iterations int     `json:"iterations"`
	Seconds    float64 `json:"seconds"`
}

// ErrNothingToFit means a project has no answers a re-fit could use.
var ErrNothingToFit = errors.New("no answers to fit")

// maxRefitClasses bounds the answers a key may have for it to be re-fitted:
// labels and enum fields, not typed values or free text, whose gold and
// review record is their evidence.
const maxRefitClasses = 64

// Refit runs Dawid–Skene over every counted answer of the project and
// records each worker's estimated accuracy, which then refines the weight
// their answers carry (quality.Skill.WithRefit). Each thing workers vote on
// is fitted on its own: a single-label project's label, each label of a
// multi-label project as a yes/no model, each enum field of a form. A
// worker's estimate is the average over those fits, weighed by how many of
// their labels each holds.
func (s *Service) Refit(ctx context.Context, projectID string) (RefitReport, error) {
	start := time.Now()
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return RefitReport{}, err
	}
	builders := map[string]*quality.LabelsBuilder{}
	err = s.Store.ProjectAnswers(ctx, p.ID, func(task, worker string, a work.Answer) error {
		for key, v := range work.Votes(p.Kind, p.Schema, a) {
			b, ok := builders[key]
			if !ok {
				b = quality.NewLabelsBuilder(1 << 10)
				builders[key] = b
			}
			b.Add(task, worker, v)
		}
		return nil
	})
	if err != nil {
		return RefitReport{}, err
	}
	keys := make([]string, 0, len(builders))
	for k := range builders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rep := RefitReport{ProjectID: p.ID}
	sum := map[string]float64{}
	n := map[string]int{}
	tasks := map[string]bool{}
	for _, key := range keys {
		labels, err := builders[key].Build()
		if err != nil || labels.NumClasses() > maxRefitClasses {
			continue
		}
		est, err := quality.Aggregate(labels, quality.DS, quality.Options{})
		if err != nil {
			return RefitReport{}, err
		}
		rep.Labels += len(labels.Task)
		rep.Iterations = max(rep.Iterations, est.Iterations)
		for _, t := range labels.TaskNames {
			tasks[t] = true
		}
		counts := make([]int, labels.NumWorkers())
		for _, w := range labels.Worker {
			counts[w]++
		}
		for w, name := range labels.WorkerNames {
			sum[name] += est.Skill[w] * float64(counts[w])
			n[name] += counts[w]
		}
	}
	if rep.Labels == 0 {
		return RefitReport{}, fmt.Errorf("project %s: %w", p.ID, ErrNothingToFit)
	}
	estimates := make(map[string]store.RefitEstimate, len(n))
	for w, c := range n {
		estimates[w] = store.RefitEstimate{Accuracy: sum[w] / float64(c), Labels: c}
	}
	if err := s.Store.SaveRefit(ctx, p, estimates); err != nil {
		return RefitReport{}, err
	}
	rep.Tasks, rep.Workers, rep.Seconds = len(tasks), len(n), time.Since(start).Seconds()
	return rep, nil
}

// RefitDue re-fits every ds project that has had answers since its last
// re-fit. A project that fails is logged and the others still run. The
// hub runs it on a schedule, on one hub at a time.
func (s *Service) RefitDue(ctx context.Context, log *slog.Logger) error {
	ids, err := s.Store.ProjectsToRefit(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rep, err := s.Refit(ctx, id)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, ErrNothingToFit) {
			log.Warn("re-fit failed", "project", id, "err", err)
			continue
		}
		log.Debug("re-fit", "project", id, "labels", rep.Labels, "workers", rep.Workers, "seconds", rep.Seconds)
	}
	return nil
}
