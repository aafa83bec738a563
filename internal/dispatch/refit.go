package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
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
	p, err := s.Project(ctx, projectID)
	if err != nil {
		return RefitReport{}, err
	}
	builders := map[string]*quality.LabelsBuilder{}
	err = s.projectAnswers(ctx, p.ID, func(task, worker string, a work.Answer) error {
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
	estimates := make(map[string]refitEstimate, len(n))
	for w, c := range n {
		estimates[w] = refitEstimate{Accuracy: sum[w] / float64(c), Labels: c}
	}
	if err := s.saveRefit(ctx, p, estimates); err != nil {
		return RefitReport{}, err
	}
	rep.Tasks, rep.Workers, rep.Seconds = len(tasks), len(n), time.Since(start).Seconds()
	return rep, nil
}

// RefitDue re-fits every ds project that has had answers since its last
// re-fit. A project that fails is logged and the others still run. The
// hub runs it on a schedule, on one hub at a time.
func (s *Service) RefitDue(ctx context.Context, log *slog.Logger) error {
	ids, err := s.projectsToRefit(ctx)
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

// projectAnswers calls fn with every counted answer given to the project's
// tasks (gold included), task by task.
func (s *Service) projectAnswers(ctx context.Context, projectID string, fn func(taskID, workerID string, a work.Answer) error) error {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT a.task_id, a.worker_id, a.answer FROM assignments a
		WHERE a.project_id = ? AND a.state = 'submitted' AND a.flag IS NULL ORDER BY a.task_id`, projectID)
	if err != nil {
		return fmt.Errorf("dispatch: answers of project %s: %w", projectID, err)
	}
	return store.EachRow(rows, func(r store.Scanner) error {
		var task, worker, raw string
		if err := r.Scan(&task, &worker, &raw); err != nil {
			return err
		}
		var a work.Answer
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return err
		}
		return fn(task, worker, a)
	})
}

// refitEstimate is one worker's accuracy as a re-fit estimated it.
type refitEstimate struct {
	Accuracy float64
	Labels   int
}

// saveRefit records a re-fit of project p: each worker's estimated accuracy
// at the project's skill and how many labels it rests on, and when the
// project was re-fitted.
func (s *Service) saveRefit(ctx context.Context, p work.Project, estimates map[string]refitEstimate) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(s.Store.Now())
		// In worker order, as every transaction that writes several
		// workers' skills takes them: two such transactions then never
		// hold a row each that the other waits for (PostgreSQL would end
		// one of them as a deadlock).
		for _, worker := range slices.Sorted(maps.Keys(estimates)) {
			e := estimates[worker]
			if _, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason,
					ds_accuracy, ds_labels, updated_at)
				VALUES (?, ?, ?, ?, ?, 0, 'active', '', ?, ?, ?)
				ON CONFLICT (worker_id, kind, language) DO UPDATE SET ds_accuracy = excluded.ds_accuracy,
					ds_labels = excluded.ds_labels, updated_at = excluded.updated_at`,
				worker, string(p.Kind), p.Language, quality.SkillPrior.Alpha, quality.SkillPrior.Beta, e.Accuracy, e.Labels, now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET refitted_at = ? WHERE id = ?`, now, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("dispatch: save re-fit of project %s: %w", p.ID, err)
	}
	return nil
}

// projectsToRefit lists the projects settled by method ds that have had
// answers since their last re-fit.
func (s *Service) projectsToRefit(ctx context.Context) ([]string, error) {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT p.id FROM projects p WHERE p.method = 'ds' AND EXISTS (
			SELECT 1 FROM assignments a WHERE a.project_id = p.id AND a.state = 'submitted'
			  AND (p.refitted_at IS NULL OR a.submitted_at > p.refitted_at))
		ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("dispatch: projects to re-fit: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}
