package report_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"banyan/internal/dispatch"
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
	clk := &clock{t: now.Add(-2 * time.Hour)}
	st := storetest.Open(t, store.Options{Now: clk.now})
	client, _ := st.CreateOrg(ctx, store.OrgClient, "Kaveri Foods")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := st.CreateProject(ctx, work.Project{ClientID: client.ID, Name: "Reviews", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, GoldRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(name, purpose string, n int, due time.Duration) work.Batch {
		t.Helper()
		spec := store.BatchSpec{Name: name, Purpose: purpose}
		if due != 0 {
			d := now.Add(due)
			spec.Deadline = &d
		}
		b, err := st.CreateBatch(ctx, p, spec, func(yield func(store.NewTask, error) bool) {
			for i := range n {
				nt := store.NewTask{Payload: fmt.Appendf(nil, `{"text":"%s %d"}`, name, i)}
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
	later := batch("later", work.PurposeWork, 2, 30*time.Hour)
	batch("far", work.PurposeWork, 2, 100*time.Hour)
	gold := batch("gold", work.PurposeGold, 4, 0)

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

	w, _ := st.CreateUser(ctx, store.BuiltinCenterOrgID, "Kavya", "worker")
	d := &dispatch.Service{Store: st}
	// answer has the worker answer up to n tasks, a minute each, counting
	// them by batch in into; false when there is no more work.
	answer := func(n int, into map[string]int) bool {
		t.Helper()
		for range n {
			o, err := d.Next(ctx, w.ID, "")
			if errors.Is(err, dispatch.ErrNoWork) {
				return false
			}
			if err != nil {
				t.Fatal(err)
			}
			clk.add(time.Minute)
			if _, err := d.Submit(ctx, w.ID, o.Assignment.ID, []byte(`{"label":"spam"}`), 60000); err != nil {
				t.Fatal(err)
			}
			into[o.Task.BatchID]++
		}
		return true
	}
	// Three answers two hours back, five in the last half hour. Which
	// batch each goes to is the dispatcher's choice: the board shows each
	// unfinished batch due with its answers so far, those of the last hour
	// apart.
	before, lastHour := map[string]int{}, map[string]int{}
	answer(3, before)
	clk.set(now.Add(-30 * time.Minute))
	answer(5, lastHour)
	clk.set(now)
	var due []string
	for _, b := range []work.Batch{soon, later} {
		if done := before[b.ID] + lastHour[b.ID]; done < b.Tasks {
			due = append(due, fmt.Sprintf("%s %d/%d %d", b.Name, done, b.Tasks, lastHour[b.ID]))
		}
	}
	workDone := 8 - before[gold.ID] - lastHour[gold.ID]
	check("after eight answers", read(), due, 11-workDone, 8)

	// Every task answered: nothing is due, only gold waits.
	all := map[string]int{}
	for k, v := range before {
		all[k] += v
	}
	for k, v := range lastHour {
		all[k] += v
	}
	for i := 0; answer(1, all); i++ {
		if i > 20 {
			t.Fatal("the worker is still given work after every task")
		}
	}
	total := 0
	for _, n := range all {
		total += n
	}
	if total-all[gold.ID] != 7 || all[gold.ID] == 0 {
		t.Fatalf("answers by batch %v: want the seven work tasks and some gold", all)
	}
	check("at the end", read(), nil, 4, int64(total))

	days, err := report.Days(ctx, st, now.Truncate(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0] != (report.DayStat{Day: "2026-11-20", Answers: total, GoldScored: all[gold.ID], GoldMean: 1}) {
		t.Errorf("days %+v; want one day of %d answers, %d of them gold, all right", days, total, all[gold.ID])
	}
	if days, err := report.Days(ctx, st, now.AddDate(0, 0, 1)); err != nil || len(days) != 0 {
		t.Errorf("days from tomorrow: %+v, %v; want none", days, err)
	}
}
