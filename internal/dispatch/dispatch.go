// Package dispatch owns the work path and its SQL: handing a hub's workers
// their next task (claims, the sweep of timed-out assignments), taking
// their answers back and settling tasks from them (validation, working
// time, gold scoring, the decision built from the quality package, review,
// the result and, through the ledger package, its charge and pay), the
// leases and grants that carry work to village centers and the answers
// they upload, recalls, a center's capacity, workers' skills, the feed
// events that tell a center of a skill change, a project change or a
// recall (appended with feed.Append), drafts, and the periodic Dawid–Skene
// re-fit. It declares the one answer path, Desk, which Service implements
// on the hub and a village center's local store (center.Local) at a
// center; the REST API, the worker desk's pages and a center's LAN API
// answer through it. An answer saved at a center comes here when it
// reaches the hub (Service.ReceiveAnswer), and is settled by the same code
// as a hub worker's. Workers who talk to the hub directly belong to its
// built-in center. A task drawn for review that a village center held goes
// to that center's reviewers for a blind audit, whose verdict settles it
// by the code a hub reviewer's does (audits.go).
package dispatch

import (
	"context"
	"sync"
	"time"

	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// ErrNoWork means there is no task for this worker right now.
var ErrNoWork = problem.NewSentinel(problem.NotFound, "no task available")

// ErrAssignmentClosed means an answer came for an assignment whose task no
// longer takes answers. The hub keeps every late answer (see Record), so
// only a village center's local store returns it, for work that timed out
// after its task got all its answers; it is declared with the answer path
// so that the worker desk, which hub and center both serve, can tell it.
var ErrAssignmentClosed = problem.NewSentinel(problem.Conflict,
	"this assignment timed out and its task no longer takes answers; ask for the next task")

// Service hands out work and takes answers. Use it by pointer: it keeps
// the time it last swept timed-out work back to the pool.
type Service struct {
	Store *store.Store
	// Projects is the process's reads of projects, shared with the other
	// surfaces that read them; nil means one of the service's own, made
	// on first use.
	Projects *project.Cache
	// LeaseGrace is how long past its TTL a center's lease is kept before
	// its task is handed out again; 0 means DefaultLeaseGrace.
	LeaseGrace time.Duration
	// AuditTimeout is how long a village center has to give its verdict
	// on a task sent to its reviewers for a blind audit before the hub
	// takes it back; 0 means DefaultAuditTimeout.
	AuditTimeout time.Duration
	// WorkTimeScale multiplies the working time the service measures
	// (from an offer to its answer, and the span a center's lease gives
	// its answers); 0 means 1. It is for simulations only (see
	// work.WorkedMS): a real hub leaves it at 1.
	WorkTimeScale float64

	// projectsOnce makes Projects when it was not given.
	projectsOnce sync.Once

	// swept is when a claim last returned timed-out work to the pool.
	sweepMu sync.Mutex
	swept   time.Time
}

// Project returns one project through the process's reads of projects
// (Projects).
func (s *Service) Project(ctx context.Context, id string) (work.Project, error) {
	return s.projects().Project(ctx, id)
}

// projects is Projects, made on first use if it was not given.
func (s *Service) projects() *project.Cache {
	s.projectsOnce.Do(func() {
		if s.Projects == nil {
			s.Projects = &project.Cache{Store: s.Store}
		}
	})
	return s.Projects
}

// DefaultLeaseGrace is the grace of a center's lease past its TTL.
const DefaultLeaseGrace = time.Hour

// leaseGrace is the grace in force.
func (s *Service) leaseGrace() time.Duration {
	if s.LeaseGrace <= 0 {
		return DefaultLeaseGrace
	}
	return s.LeaseGrace
}

// Decider returns the function that settles a task of project p from its
// answers. Method "mv" compares votes key by key and settles on a strict
// majority (quality.Decide); method "ds" weighs each vote by the worker's
// estimated accuracy and settles when every key's posterior reaches the
// project's confidence target (quality.DecideWeighted). Transcriptions and
// replies vote through their medoid (see medoidBallots), whose text as
// written is the result when it wins; otherwise the result is composed
// from the winning values.
func Decider(p work.Project) DecideFunc {
	classes := map[string]int{}
	if p.Kind == work.Classify {
		if p.Schema.Multi {
			for _, l := range p.Schema.Labels {
				classes["label:"+l] = 2
			}
		} else {
			classes["label"] = len(p.Schema.Labels)
		}
	}
	for _, f := range p.Schema.Fields {
		if f.Type == work.FieldEnum {
			classes[f.Name] = len(f.Options) + 1 // the options, or empty
		}
	}
	text := p.Kind == work.Transcribe || p.Kind == work.Respond
	return func(given []Given) (Verdict, error) {
		answers := make([]work.Answer, len(given))
		ballots := make([]quality.Ballot, len(given))
		acc := make([]float64, len(given))
		for i, g := range given {
			answers[i] = g.Answer
			ballots[i] = work.Votes(p.Kind, p.Schema, g.Answer)
			acc[i] = g.Accuracy
		}
		medoid := -1
		if text {
			medoid = medoidBallots(answers, ballots, p.MaxTextError)
		}
		var d quality.Decision
		reason := ReviewDisagreement
		if p.Method == work.MethodDS {
			d = quality.DecideWeighted(ballots, acc, quality.WeightedPolicy{
				Overlap: p.Overlap, MaxOverlap: p.MaxOverlap, Target: p.ConfidenceTarget, Classes: classes})
			reason = ReviewLowConfidence
		} else {
			d = quality.Decide(ballots, quality.Policy{Overlap: p.Overlap, MaxOverlap: p.MaxOverlap})
		}
		var res work.Answer
		switch {
		case d.Winners == nil:
		case medoid >= 0 && d.Winners["text"] == ballots[medoid]["text"]:
			res = work.Answer{Text: answers[medoid].Text}
		default:
			var err error
			if res, err = work.Compose(p.Kind, p.Schema, d.Winners, answers); err != nil {
				return Verdict{}, err
			}
		}
		switch d.Outcome {
		case quality.Settled:
			return Verdict{State: work.TaskDone, Result: res, Confidence: d.Confidence, Wanted: d.Want}, nil
		case quality.NeedsReview:
			return Verdict{State: work.TaskNeedsReview, Result: res, Wanted: d.Want, ReviewReason: reason}, nil
		}
		return Verdict{State: work.TaskInProgress, Wanted: d.Want}, nil
	}
}

// medoidBallots makes transcriptions or replies vote the way they are
// scored: the medoid is the answer with the least total character error
// rate to the others (quality.Medoid over work.TextErrors); every answer
// that agrees with it within maxError (work.TextScore, the medoid being
// the reference) votes for the medoid's text, and every other answer for
// its own. A strict majority of such votes settles on the medoid under
// method mv; under ds the votes are weighed. It returns the medoid's
// index, or -1 when there are no answers.
func medoidBallots(answers []work.Answer, ballots []quality.Ballot, maxError float64) int {
	if len(answers) == 0 {
		return -1
	}
	texts := make([]string, len(answers))
	for i, a := range answers {
		texts[i] = a.Text
	}
	m := quality.Medoid(work.TextErrors(texts))
	for i, t := range texts {
		if work.TextScore(texts[m], t, maxError) == 1 {
			ballots[i]["text"] = ballots[m]["text"]
		}
	}
	return m
}

// Resolve settles a task by a reviewer's answer, validated like any other.
func (s *Service) Resolve(ctx context.Context, reviewerID, taskID string, raw []byte) (work.Answer, error) {
	t, err := project.Task(ctx, s.Store, taskID)
	if err != nil {
		return work.Answer{}, err
	}
	p, err := s.Project(ctx, t.ProjectID)
	if err != nil {
		return work.Answer{}, err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, raw)
	if err != nil {
		return work.Answer{}, err
	}
	return answer, s.ResolveAnswer(ctx, taskID, reviewerID, answer)
}
