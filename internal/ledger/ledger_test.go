package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/training"
	"banyan/internal/work"
)

type fixture struct {
	c      auth.Org
	st     *store.Store
	people *auth.Service
	d      *dispatch.Service
	p      work.Project
}

// newFixture is a store with a priced project (₹5.00 a result, ₹3.00 an
// answer, ₹0.50 to a center for an answer given there) and n tasks.
func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	return newFixtureAt(t, n, nil)
}

// newFixtureAt is newFixture on the given clock (nil: time.Now).
func newFixtureAt(t *testing.T, n int, now func() time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{Now: now})
	t.Cleanup(func() { st.Close() })
	people := &auth.Service{Store: st}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, CenterShare: 50, GSTBps: 1800}); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return &fixture{c: c, st: st, people: people, d: &dispatch.Service{Store: st}, p: p}
}

// work has a worker answer k tasks and returns the assignment ids.
func (f *fixture) work(t *testing.T, workerID string, k int) []string {
	t.Helper()
	var ids []string
	for range k {
		o, err := f.d.Next(context.Background(), workerID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.Submit(context.Background(), dispatch.Submission{WorkID: o.WorkID, WorkerID: workerID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 4000}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.WorkID)
	}
	return ids
}

func TestLedgerReconciles(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	center, _ := f.people.CreateOrg(ctx, auth.OrgCenter, "Melur")
	hubWorker, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	centerWorker, _ := f.people.CreateUser(ctx, center.ID, "ravi", "worker")
	f.work(t, hubWorker.ID, 6)
	if n, err := ledger.Post(ctx, f.st); err != nil || n != 12 {
		t.Fatalf("first posting: %d events, %v; want 6 deliveries and 6 answers", n, err)
	}
	ids := f.work(t, centerWorker.ID, 4)
	// The same answer sent again pays nothing more.
	if _, err := f.d.Submit(ctx, dispatch.Submission{WorkID: ids[0], WorkerID: centerWorker.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 4000}); err != nil {
		t.Fatal(err)
	}
	if n, err := ledger.Post(ctx, f.st); err != nil || n != 8 {
		t.Fatalf("second posting: %d events, %v", n, err)
	}
	if n, _ := ledger.Post(ctx, f.st); n != 0 {
		t.Fatalf("posting again posted %d", n)
	}
	m, err := ledger.Totals(ctx, f.st)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Money{ClientReceivable: 10 * 500, WorkerPayable: 10 * 300, CenterShare: 4 * 50, HubRevenue: 10*500 - 10*300 - 4*50, Reconciled: true}
	if m != want {
		t.Fatalf("totals %+v, want %+v", m, want)
	}
	rep, err := ledger.Verify(ctx, f.st)
	if err != nil || rep.Problem != "" || rep.Batches != 2 || rep.Entries != 10*2+10*2+4 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestVerifyCatchesTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, sql, want string
	}{
		{"an amount edited", `UPDATE ledger_entries SET amount = amount + 1 WHERE id = (SELECT min(id) FROM ledger_entries WHERE batch_seq = 2)`, "batch 2: its entries do not match"},
		{"an entry deleted", `DELETE FROM ledger_entries WHERE id = (SELECT max(id) FROM ledger_entries WHERE batch_seq = 1)`, "batch 1 holds"},
		{"entries swapped", `UPDATE ledger_entries SET party = CASE WHEN account = 'client_receivable' THEN 'someone' ELSE party END WHERE batch_seq = 3`, "batch 3: its entries do not match"},
		{"a batch deleted", `DELETE FROM ledger_entries WHERE batch_seq = 2; DELETE FROM ledger_batches WHERE seq = 2`, "batch 2 is missing"},
		{"a chain recomputed from a point", `UPDATE ledger_batches SET prev_hash = 'ff' WHERE seq = 3`, "batch 3 does not follow batch 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 9)
			w, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
			for range 3 {
				f.work(t, w.ID, 3)
				if _, err := ledger.Post(ctx, f.st); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := ledger.Verify(ctx, f.st)
			if before.Problem != "" || before.Batches != 3 {
				t.Fatalf("before tampering: %+v", before)
			}
			tamper(t, f.st, tc.sql)
			after, err := ledger.Verify(ctx, f.st)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(after.Problem, tc.want) {
				t.Fatalf("verify after %s: %q, want it to say %q", tc.name, after.Problem, tc.want)
			}
		})
	}
}

// tamper runs statements (separated by "; ") behind the ledger's back, as
// someone with the database file or a SQL prompt could.
func tamper(t *testing.T, st *store.Store, statements string) {
	t.Helper()
	for _, q := range strings.Split(statements, "; ") {
		if _, err := st.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A cut-off tail verifies on its own; the printed head hash catches it.
func TestTailCutChangesTheHead(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 4)
	w, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	for range 2 {
		f.work(t, w.ID, 2)
		ledger.Post(ctx, f.st)
	}
	printed, _ := ledger.Verify(ctx, f.st)
	tamper(t, f.st, `DELETE FROM ledger_entries WHERE batch_seq = 2; DELETE FROM ledger_batches WHERE seq = 2`)
	now, _ := ledger.Verify(ctx, f.st)
	if now.Problem != "" || now.Head == printed.Head {
		t.Fatalf("after cutting the last batch: %+v; the head should differ from the printed %s", now, printed.Head)
	}
}

func TestInvoice(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 7)
	w, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	f.work(t, w.ID, 7)
	today := time.Now().UTC()
	inv, err := ledger.MakeInvoice(ctx, f.st, f.c, today, today)
	if err != nil {
		t.Fatal(err)
	}
	// 7 results at ₹5.00: ₹35.00, GST 18 % ₹6.30, total ₹41.30.
	if inv.Results != 7 || inv.Subtotal != 3500 || inv.GST != 630 || inv.Total != 4130 || len(inv.Lines) != 1 || inv.Lines[0].PerResult != 500 {
		t.Fatalf("invoice %+v", inv)
	}
	rep, _ := ledger.Verify(ctx, f.st)
	if inv.LedgerHead != rep.Head || inv.LedgerBatch != int64(rep.Batches) {
		t.Errorf("invoice head %d %s, ledger %d %s", inv.LedgerBatch, inv.LedgerHead, rep.Batches, rep.Head)
	}
	var b strings.Builder
	if err := inv.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ",TOTAL,,,7,35.00,,,6.30,41.30") || !strings.Contains(b.String(), rep.Head) {
		t.Errorf("CSV:\n%s", b.String())
	}
	// Yesterday had nothing.
	y := today.AddDate(0, 0, -1)
	if inv, _ := ledger.MakeInvoice(ctx, f.st, f.c, y, y); inv.Total != 0 || len(inv.Lines) != 0 {
		t.Errorf("yesterday's invoice: %+v", inv)
	}
	if _, err := ledger.MakeInvoice(ctx, f.st, f.c, today, y); err == nil {
		t.Errorf("a period that ends before it starts: no error")
	}
}

// The hourly rate rests on the time the hub measured from each offer to
// its answer, at most the assignment's ten minutes; the four seconds each
// answer reports are not read.
func TestStatementAndMinimumWage(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	f := newFixtureAt(t, 7, clk.Now)
	w, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	for range 7 {
		o, err := f.d.Next(ctx, w.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(15 * time.Minute) // counted as the assignment's 10
		if _, err := f.d.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 4000}); err != nil {
			t.Fatal(err)
		}
	}
	today := clk.Now()
	s, err := ledger.MakeStatement(ctx, f.st, w.ID, today.AddDate(0, 0, -6), today, 5000)
	if err != nil {
		t.Fatal(err)
	}
	// 7 answers at ₹3.00 over 70 minutes: ₹18.00 an hour, under ₹50.00.
	if s.Answers != 7 || s.Earned != 2100 || s.ActiveMS != 4_200_000 || s.HourlyRate != 1800 || !s.BelowMinimum ||
		len(s.Days) != 1 || len(s.Weeks) != 1 || s.Weeks[0].HourlyRate != 1800 {
		t.Fatalf("statement %+v", s)
	}
	low, err := ledger.BelowMinimum(ctx, f.st, today.AddDate(0, 0, -6), today, 5000)
	if err != nil || len(low) != 1 || low[0].WorkerID != w.ID || low[0].HourlyRate != 1800 {
		t.Fatalf("below minimum: %+v %v", low, err)
	}
	if low, _ := ledger.BelowMinimum(ctx, f.st, today.AddDate(0, 0, -6), today, 1000); len(low) != 0 {
		t.Errorf("under a ₹10.00 floor: %+v", low)
	}
}

// Answers held for an hour: one rejected, then its rejection overturned;
// the others approved when due; a bonus paid once however often it is sent.
func TestHeldAnswersAndBonus(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	people := &auth.Service{Store: st}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, _ := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, ApproveAfterSeconds: 3600, OverturnSeconds: 7200})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 3 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	})
	w, _ := people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	f := &fixture{st: st, d: &dispatch.Service{Store: st}, p: p}
	ids := f.work(t, w.ID, 3)
	ledger.Post(ctx, st)
	m, _ := ledger.Totals(ctx, st)
	if m.ClientReceivable != 1500 || m.WorkerPayable != 0 {
		t.Fatalf("before approval: %+v; want the results charged and nothing paid yet", m)
	}
	if _, err := ledger.RejectAnswer(ctx, st, ids[0], "rev", "labelled ok, but it is spam"); err != nil {
		t.Fatal(err)
	}
	if n, _ := ledger.ApproveDue(ctx, st, 100); n != 0 {
		t.Fatalf("approved %d before their time", n)
	}
	clk.Add(61 * time.Minute)
	if n, err := ledger.ApproveDue(ctx, st, 100); n != 2 || err != nil {
		t.Fatalf("approved %d (%v), want the two not rejected", n, err)
	}
	if _, err := ledger.RejectAnswer(ctx, st, ids[1], "rev", "late second thoughts"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rejecting an approved answer: %v", err)
	}
	if _, err := ledger.OverturnRejection(ctx, st, ids[0], "lead", "the guideline allows ok here"); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OverturnRejection(ctx, st, ids[0], "lead", "again"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("overturning twice: %v", err)
	}
	for range 3 {
		ledger.Bonus(ctx, st, w.ID, 1000, "admin:diwali-2026")
	}
	ledger.Post(ctx, st)
	m, _ = ledger.Totals(ctx, st)
	want := ledger.Money{ClientReceivable: 1500, WorkerPayable: 3*300 + 1000, HubRevenue: 1500 - 900 - 1000, Reconciled: true}
	if m != want {
		t.Fatalf("totals %+v, want %+v", m, want)
	}
	if rep, _ := ledger.Verify(ctx, st); rep.Problem != "" {
		t.Fatal(rep.Problem)
	}
}

// A rejection not overturned within its window stays.
func TestOverturnWindowCloses(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	people := &auth.Service{Store: st}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, _ := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, ApproveAfterSeconds: 60, OverturnSeconds: 60})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"x"}`)}, nil)
	})
	w, _ := people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	f := &fixture{st: st, d: &dispatch.Service{Store: st}, p: p}
	id := f.work(t, w.ID, 1)[0]
	ledger.RejectAnswer(ctx, st, id, "rev", "wrong")
	clk.Add(2 * time.Minute)
	if _, err := ledger.OverturnRejection(ctx, st, id, "lead", "too late"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("overturning after the window: %v", err)
	}
	if n, _ := ledger.ApproveDue(ctx, st, 10); n != 0 {
		t.Errorf("a rejected answer was approved when due")
	}
}

// A fully right gold answer earns the rate card's gold bonus on top of its
// pay; accepted training time is paid at the hourly rate, once: the same
// span sent again overlaps itself and is refused.
func TestGoldBonusAndTrainingPay(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	people := &auth.Service{Store: st}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, _ := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, GoldRatio: 1}})
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, GoldBonus: 200})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "work", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"w"}`)}, nil)
	})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"g1"}`), Gold: []byte(`{"label":"ok"}`)}, nil)
		yield(project.NewTask{Payload: []byte(`{"text":"g2"}`), Gold: []byte(`{"label":"spam"}`)}, nil)
	})
	w, _ := people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	f := &fixture{st: st, d: &dispatch.Service{Store: st}, p: p}
	// Gold comes first (ratio 1); "ok" is right for g1 only.
	f.work(t, w.ID, 3)
	// Ninety minutes in a course the hub served, a request every five.
	course, err := training.CreateCourse(ctx, st, work.Course{Name: "basics", Purpose: work.Training, Kind: work.Classify, Language: "en",
		Schema: schema, PassMark: 0.5}, func(yield func(training.CourseItemIn, error) bool) {
		yield(training.CourseItemIn{Payload: []byte(`{"text":"x"}`), Answer: []byte(`{"label":"ok"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for range 19 {
		if err := training.TouchCourse(ctx, st, w.ID, course.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Minute)
	}
	span := training.ActivityRecord{WorkerID: w.ID, Activity: work.Activity{StartedAt: start.Format(time.RFC3339), ActiveMS: 90 * 60 * 1000, What: work.ActivityTraining}}
	if _, err := training.RecordSpan(ctx, st, span, work.SpanLimits{}, 5000); err != nil {
		t.Fatal(err)
	}
	var se *work.SpanError
	if _, err := training.RecordSpan(ctx, st, span, work.SpanLimits{}, 5000); !errors.As(err, &se) {
		t.Fatalf("the same span again: got %v, want it refused", err)
	}
	ledger.Post(ctx, st)
	m, _ := ledger.Totals(ctx, st)
	// Three answers paid ₹3.00, one gold bonus of ₹2.00, 90 minutes of
	// training at ₹50.00 an hour: ₹75.00.
	if m.WorkerPayable != 3*300+200+7500 || m.ClientReceivable != 500 || !m.Reconciled {
		t.Fatalf("totals %+v", m)
	}
}

// A client rejects a delivered result: it is credited, reworked by
// another worker and charged again; the invoice shows the credit note.
func TestRejectedResultCreditedAndRedone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2)
	a, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	b, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "ravi", "worker")
	ids := f.work(t, a.ID, 2)
	first, _ := f.d.Assignment(ctx, ids[0])
	if err := project.RejectResult(ctx, f.st, first.TaskID, "client-admin", "the label is wrong"); err != nil {
		t.Fatal(err)
	}
	if err := project.RejectResult(ctx, f.st, first.TaskID, "client-admin", "again"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rejecting a task with no result: %v", err)
	}
	// Asha may not redo it; Ravi does.
	if _, err := f.d.Next(ctx, a.ID, ""); err == nil {
		t.Errorf("the worker whose result was rejected got the task again")
	}
	redo := f.work(t, b.ID, 1)
	if r, _ := f.d.Assignment(ctx, redo[0]); r.TaskID != first.TaskID {
		t.Fatalf("the rework went to task %s, want %s", r.TaskID, first.TaskID)
	}
	ledger.Post(ctx, f.st)
	m, _ := ledger.Totals(ctx, f.st)
	if m.ClientReceivable != 3*500-500 || m.WorkerPayable != 3*300 || !m.Reconciled {
		t.Fatalf("totals %+v", m)
	}
	today := time.Now().UTC()
	inv, err := ledger.MakeInvoice(ctx, f.st, f.c, today, today)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Results != 2 || inv.Subtotal != 1000 || inv.GST != 180 || len(inv.Lines) != 2 || !inv.Lines[1].Credit || inv.Lines[1].Amount != -500 {
		t.Fatalf("invoice %+v", inv)
	}
}
