package report_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// A project with three batches due at different times and a gold batch;
// a worker answers for a while, two hours back and then in the last hour,
// and the board and the gauges follow.
func TestOpsFigures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clk := storetest.NewClock(now.Add(-2 * time.Hour))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	client, _ := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "Kaveri Foods")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "Reviews", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, GoldRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(name, purpose string, n int, due time.Duration) work.Batch {
		t.Helper()
		spec := project.BatchSpec{Name: name, Purpose: purpose}
		if due != 0 {
			d := now.Add(due)
			spec.Deadline = &d
		}
		b, err := project.CreateBatch(ctx, st, p, spec, func(yield func(project.NewTask, error) bool) {
			for i := range n {
				nt := project.NewTask{Payload: fmt.Appendf(nil, `{"text":"%s %d"}`, name, i)}
				if purpose == work.PurposeGold {
					nt.Gold = []byte(`{"label":"spam"}`)
				}
				if !yield(nt, nil) {
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	soon := batch("soon", work.PurposeWork, 3, 2*time.Hour)
	batch("later", work.PurposeWork, 2, 30*time.Hour)
	batch("far", work.PurposeWork, 2, 100*time.Hour)
	batch("gold", work.PurposeGold, 4, 0)

	type figures struct {
		due     []string // "name done/tasks last-hour"
		depth   int
		answers int64
	}
	read := func() figures {
		t.Helper()
		due, err := report.DueBatches(ctx, st, now.Add(72*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		var f figures
		for _, b := range due {
			if b.ProjectID != p.ID || b.ProjectName != "Reviews" || b.ClientName != "Kaveri Foods" || b.Deadline.IsZero() {
				t.Errorf("due batch %+v", b)
			}
			f.due = append(f.due, fmt.Sprintf("%s %d/%d %d", b.Name, b.Done, b.Tasks, b.LastHour))
		}
		depths, err := report.QueueDepths(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		f.depth = depths[p.ID]
		if f.answers, err = report.CountAnswers(ctx, st); err != nil {
			t.Fatal(err)
		}
		return f
	}
	check := func(when string, f figures, due []string, depth int, answers int64) {
		t.Helper()
		if fmt.Sprint(f.due) != fmt.Sprint(due) || f.depth != depth || f.answers != answers {
			t.Errorf("%s: board %v, queue %d, answers %d; want %v, %d, %d", when, f.due, f.depth, f.answers, due, depth, answers)
		}
	}
	// Before any answer: the two batches due within 72 hours, soonest
	// first; every task waits (gold tasks are never done).
	check("before", read(), []string{"soon 0/3 0", "later 0/2 0"}, 11, 0)
	if due, err := report.DueBatches(ctx, st, now.Add(72*time.Hour), 1); err != nil || len(due) != 1 || due[0].ID != soon.ID {
		t.Errorf("the board's first batch: %+v, %v; want only %q", due, err, soon.Name)
	}

	w, _ := (&auth.Service{Store: st}).CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya", "worker")
	answer := answerer(t, st, clk, w.ID)
	// Two hours back: two of the soonest batch's tasks and a gold one.
	answer("wwg")
	// In the last half hour: the soonest batch's last task, which takes
	// it off the board, one of the next and a gold one.
	clk.Set(now.Add(-30 * time.Minute))
	answer("wwg")
	clk.Set(now)
	check("after six answers", read(), []string{"later 1/2 1"}, 3+4, 6)

	// Every task answered, and all the gold: nothing is due, only gold
	// waits.
	answer("gwgww")
	if _, _, err := (&dispatch.Service{Store: st}).Claim(ctx, w.ID, "", 0.99); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the worker is still given work after every task: %v", err)
	}
	check("at the end", read(), nil, 4, 11)

	days, err := report.Days(ctx, st, now.Truncate(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0] != (report.DayStat{Day: "2026-11-20", Answers: 11, GoldScored: 4, GoldMean: 1}) {
		t.Errorf("days %+v; want one day of 11 answers, 4 of them gold, all right", days)
	}
	if days, err := report.Days(ctx, st, now.AddDate(0, 0, 1)); err != nil || len(days) != 0 {
		t.Errorf("days from tomorrow: %+v, %v; want none", days, err)
	}
}

// answerer has a worker answer tasks, a minute each, in the order a
// pattern gives: 'w' a task from the pool (the oldest first), 'g' a gold
// task (every gold answer is right).
func answerer(t *testing.T, st *store.Store, clk *storetest.Clock, workerID string) func(pattern string) {
	d := &dispatch.Service{Store: st}
	return func(pattern string) {
		t.Helper()
		ctx := context.Background()
		for _, c := range pattern {
			draw := 0.99 // over the project's gold ratio
			if c == 'g' {
				draw = 0
			}
			a, _, err := d.Claim(ctx, workerID, "", draw)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
			out, err := d.Submit(ctx, dispatch.Submission{WorkID: a.ID, WorkerID: workerID, Answer: []byte(`{"label":"spam"}`), ReportedMS: 60000})
			if err != nil || out.Gold != (c == 'g') {
				t.Fatalf("answer %c: %+v, %v", c, out, err)
			}
		}
	}
}
