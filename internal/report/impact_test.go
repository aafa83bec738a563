package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/training"
	"banyan/internal/work"
)

// Twelve workers: six women, two with a disability, seven of a minority;
// half at a village center. Ten of them started 45 days before the end of
// the period, and five of those came back in its last days.
func TestImpact(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	clk := storetest.NewClock(end.AddDate(0, 0, -45))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	c, _ := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, _ := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 86400, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 100})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 200 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	})
	village, _ := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgCenter, "Melur")
	d := &dispatch.Service{Store: st}
	// answer has a worker take n tasks, each took long by the hub's clock;
	// every one reports three seconds, which no figure may read.
	answer := func(workerID string, n int, took time.Duration) {
		for range n {
			o, err := d.Next(ctx, workerID, "")
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(took)
			if _, err := d.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: workerID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 3000}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ids []string
	for i := range 12 {
		org := auth.BuiltinCenterOrgID
		if i%2 == 1 {
			org = village.ID
		}
		u, _ := (&auth.Service{Store: st}).CreateUser(ctx, org, fmt.Sprintf("w%02d", i), "worker")
		ids = append(ids, u.ID)
		dec := work.Declaration{Gender: "man", Disability: "no", Minority: "no"}
		if i < 6 {
			dec.Gender = "woman"
		}
		if i < 2 {
			dec.Disability = "yes"
		}
		if i < 7 {
			dec.Minority = "yes"
		}
		if _, err := report.RecordDeclaration(ctx, st, report.DeclarationRecord{WorkerID: u.ID, Declaration: dec}); err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			answer(u.ID, 1, 0) // 45 days before the end
		}
	}
	// The period: the last 10 days. Worker i answers i+1 tasks; the
	// first one's task takes 21 hours of measured time (a job), every
	// other answer none.
	clk.Set(end.AddDate(0, 0, -3))
	for i, id := range ids {
		if i >= 5 && i < 10 {
			continue // five of the first ten did not come back
		}
		took := time.Duration(0)
		if i == 0 {
			took = 21 * time.Hour
		}
		answer(id, i+1, took)
	}
	r, err := report.MakeImpact(ctx, st, end.AddDate(0, 0, -10), end.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	// Active: workers 0–4 and 10–11.
	if r.ActiveWorkers != 7 || r.Jobs != 1 || r.HoursWorked != 21 || r.Villages != 1 || r.HubWorkers+r.CenterWorker != 7 {
		t.Fatalf("report %+v", r)
	}
	// Pay: 1, 2, 3, 4, 5, 11, 12 answers at ₹1.00.
	e := r.Earnings
	if e.People != 7 || e.Total != 3800 || e.P10 == nil || *e.P10 != 100 || *e.Median != 400 || *e.P90 != 1200 {
		t.Fatalf("earnings %+v", e)
	}
	// Women: workers 0–4 of 7 (the rest, 2, is too few to show either).
	if !r.Women.Suppressed || r.Women.Count != nil {
		t.Errorf("women: %+v, want suppressed (the complement is 2)", r.Women)
	}
	if !r.Disability.Suppressed {
		t.Errorf("disability: %+v, want suppressed (2 people)", r.Disability)
	}
	if r.Declared != 7 {
		t.Errorf("declared %d", r.Declared)
	}
	// Retention at 30 days: the ten who started 45 days before the end;
	// five answered in the last 30 days.
	if r.Retention30.Suppressed || *r.Retention30.Count != 5 || r.Retention30.Of != 10 {
		t.Errorf("retention_30 %+v", r.Retention30)
	}
	if r.Definitions["jobs"] == "" || r.Definitions["suppressed"] == "" {
		t.Errorf("definitions missing")
	}
}

// Active time is measured task time, counted on the day the task was
// offered, and the training time the server credited, counted on the
// day each span began: the impact report's hours are its sum.
func TestActiveTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	day1 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	clk := storetest.NewClock(day1.Add(9 * time.Hour))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	c, _ := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 3600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 2 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	course, err := training.CreateCourse(ctx, st, work.Course{Name: "basics", Purpose: work.Training, Kind: work.Classify, Language: "en",
		Schema: schema, PassMark: 0.5}, func(yield func(training.CourseItemIn, error) bool) {
		yield(training.CourseItemIn{Payload: []byte(`{"text":"x"}`), Answer: []byte(`{"label":"ok"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := (&auth.Service{Store: st}).CreateUser(ctx, auth.BuiltinCenterOrgID, "w", "worker")
	d := &dispatch.Service{Store: st}
	task := func(took time.Duration) {
		t.Helper()
		o, err := d.Next(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(took)
		if _, err := d.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: u.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	train := func(took time.Duration) {
		t.Helper()
		if err := training.TouchCourse(ctx, st, u.ID, course.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(took)
		if got, err := training.CreditTraining(ctx, st, u.ID, course.ID, work.SpanLimits{}, 0); err != nil || got != took {
			t.Fatalf("training credited %v, %v; want %v", got, err, took)
		}
	}
	task(20 * time.Minute) // day 1, 09:00
	clk.Set(day1.Add(10 * time.Hour))
	train(5 * time.Minute)
	clk.Set(day1.Add(23*time.Hour + 50*time.Minute))
	task(20 * time.Minute) // offered on day 1, answered on day 2
	clk.Set(day2.Add(9 * time.Hour))
	train(7 * time.Minute)

	for _, c := range []struct {
		name     string
		from, to time.Time
		want     map[string]time.Duration // by day
	}{
		{"both days", day1, day2.AddDate(0, 0, 1), map[string]time.Duration{"2026-11-23": 45 * time.Minute, "2026-11-24": 7 * time.Minute}},
		{"day 2", day2, day2.AddDate(0, 0, 1), map[string]time.Duration{"2026-11-24": 7 * time.Minute}},
		{"day 1 until 10:03", day1, day1.Add(10*time.Hour + 3*time.Minute), map[string]time.Duration{"2026-11-23": 25 * time.Minute}},
	} {
		rows, err := st.Read(ctx).QueryContext(ctx, `SELECT worker_id, day, sum(ms) FROM (`+report.ActiveTime+`) t GROUP BY worker_id, day`,
			report.ActiveTimeArgs(c.from, c.to)...)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]time.Duration{}
		if _, err := store.Collect(rows, func(r store.Scanner) (bool, error) {
			var worker, day string
			var ms int64
			err := r.Scan(&worker, &day, &ms)
			if worker != u.ID {
				t.Errorf("%s: active time of %s", c.name, worker)
			}
			got[day] = time.Duration(ms) * time.Millisecond
			return true, err
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: active time %v, want %v", c.name, got, c.want)
		}
	}
	// The report's days are whole: day 2 holds its training and not the
	// task offered the day before, though it was answered on day 2.
	for _, c := range []struct {
		from, to time.Time
		want     time.Duration
	}{{day1, day2, 52 * time.Minute}, {day2, day2, 7 * time.Minute}} {
		r, err := report.MakeImpact(ctx, st, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(c.want.Milliseconds()) / 3.6e6; r.ActiveWorkers != 1 || r.HoursWorked != want {
			t.Errorf("%s to %s: %d active, %v hours; want 1, %v", r.From, r.To, r.ActiveWorkers, r.HoursWorked, want)
		}
	}
}
