package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// tstore is a hub's store with its dispatch service, as the tests of
// claims, leases and settling use them together.
type tstore struct {
	*store.Store
	*Service
}

func newStore(t *testing.T) (*tstore, *storetest.Clock) {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: c.Now})
	return &tstore{Store: st, Service: &Service{Store: st}}, c
}

// exec runs a statement on its own, for a test's set-up.
func (s *tstore) exec(query string, args ...any) (sql.Result, error) {
	return s.Store.Exec(context.Background(), query, args...)
}

// queryRow reads one row, for a test's checks.
func (s *tstore) queryRow(query string, args ...any) *sql.Row {
	return s.Read(context.Background()).QueryRowContext(context.Background(), query, args...)
}

// fixture makes a client with a classify project.
func fixture(t *testing.T, s *tstore, overlap, maxOverlap int) work.Project {
	t.Helper()
	ctx := context.Background()
	c := newOrg(t, s, "client", "client "+t.Name())
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.CreateProject(ctx, s.Store, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tasksOf(n int) iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"text":"item %d"}`, i))}, nil) {
				return
			}
		}
	}
}

func workers(t *testing.T, s *tstore, n int) []testUser {
	t.Helper()
	out := make([]testUser, n)
	for i := range out {
		out[i] = newUser(t, s, auth.BuiltinCenterOrgID, fmt.Sprintf("w%03d", i), "worker")
	}
	return out
}

// Organisations and users are auth's, which a test inside this package
// cannot import; newOrg and newUser insert the rows a test needs as they
// are.

// testOrg is an organisation a test made.
type testOrg struct{ ID string }

// newOrg adds an organisation of a kind ("client", "center").
func newOrg(t testing.TB, s *tstore, kind, name string) testOrg {
	t.Helper()
	o := testOrg{ID: work.NewID()}
	if _, err := s.exec(`INSERT INTO orgs (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, o.ID, kind, name, store.TimeText(s.Now())); err != nil {
		t.Fatal(err)
	}
	return o
}

// testUser is a person a test made.
type testUser struct{ ID string }

// newUser adds a person with a role to an organisation.
func newUser(t testing.TB, s *tstore, orgID, name, role string) testUser {
	t.Helper()
	u := testUser{ID: work.NewID()}
	if _, err := s.exec(`INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`, u.ID, orgID, name, role, store.TimeText(s.Now())); err != nil {
		t.Fatal(err)
	}
	return u
}

// majority is a DecideFunc for tests: settle on agreement of the first
// three answers, else ask for one more up to five, then review.
func majority(p work.Project) DecideFunc {
	return func(given []Given) (Verdict, error) {
		counts := map[string]int{}
		answers := given
		for _, g := range given {
			counts[g.Answer.Label]++
		}
		for l, c := range counts {
			if len(answers) >= p.Overlap && 2*c > len(answers) {
				return Verdict{State: work.TaskDone, Result: work.Answer{Label: l}, Confidence: float64(c) / float64(len(answers)), Wanted: len(answers)}, nil
			}
		}
		if len(answers) < p.Overlap {
			return Verdict{State: work.TaskInProgress, Wanted: p.Overlap}, nil
		}
		if len(answers) >= p.MaxOverlap {
			return Verdict{State: work.TaskNeedsReview, Wanted: len(answers)}, nil
		}
		return Verdict{State: work.TaskInProgress, Wanted: len(answers) + 1}, nil
	}
}

// Under many concurrent workers, no worker gets a task twice and no task
// gets more live assignments or answers than its overlap asks for.
func TestClaimConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 3, 3)
	const tasks, nWorkers = 60, 120
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(tasks)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, nWorkers)
	var mu sync.Mutex
	held := map[string]map[string]bool{} // task → workers
	var claims atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, nWorkers)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				a, task, err := s.Claim(ctx, w.ID, "", 1)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				claims.Add(1)
				mu.Lock()
				if held[task.ID] == nil {
					held[task.ID] = map[string]bool{}
				}
				if held[task.ID][w.ID] {
					mu.Unlock()
					errs <- fmt.Errorf("worker %s got task %s twice", w.ID, task.ID)
					return
				}
				held[task.ID][w.ID] = true
				mu.Unlock()
				if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 10, SampleDraw: 1}, majority(p)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := claims.Load(); got != tasks*3 {
		t.Fatalf("got %d claims, want exactly %d (3 per task)", got, tasks*3)
	}
	for id, ws := range held {
		if len(ws) != 3 {
			t.Fatalf("task %s was held by %d workers, want 3", id, len(ws))
		}
	}
	// SQLite stamps the batch complete in the transaction that settled its
	// last task. On PostgreSQL the last few, settled side by side, may
	// each have seen another still open: the completion sweep stamps it.
	if onPostgres() {
		if err := project.CheckCompletions(ctx, s.Store); err != nil {
			t.Fatal(err)
		}
	}
	b, err := project.Batches(ctx, s.Store, p.ID, store.Page{Limit: 10})
	if err != nil || len(b) != 1 || b[0].TasksDone != tasks || b[0].CompletedAt == nil {
		t.Fatalf("got batches %+v, %v; want one completed batch of %d", b, err, tasks)
	}
}

// While tasks are held, the pool never hands out more than overlap.
func TestClaimRespectsOverlapWhileHeld(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 4)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(5)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 150)
	var wg sync.WaitGroup
	var got atomic.Int64
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Claim(ctx, w.ID, p.ID, 1); err == nil {
				got.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 10 {
		t.Fatalf("got %d live assignments for 5 tasks of overlap 2, want 10", got.Load())
	}
}

func TestAssignmentTimesOut(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	a1, _, err := s.Claim(ctx, ws[0].ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	// Asking again gives the same live assignment, not a second task.
	again, _, err := s.Claim(ctx, ws[0].ID, "", 1)
	if err != nil || again.ID != a1.ID {
		t.Fatalf("second claim: got %v, %v; want the same assignment %s", again.ID, err, a1.ID)
	}
	if _, _, err := s.Claim(ctx, ws[1].ID, "", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim while held: got %v, want store.ErrNotFound", err)
	}
	clk.Add(61 * time.Second)
	a2, _, err := s.Claim(ctx, ws[1].ID, "", 1)
	if err != nil {
		t.Fatalf("claim after timeout: %v", err)
	}
	if a2.TaskID != a1.TaskID {
		t.Fatalf("got task %s, want the timed-out task %s back", a2.TaskID, a1.TaskID)
	}
	got, err := s.Assignment(ctx, a1.ID)
	if err != nil || got.State != work.AssignmentExpired {
		t.Fatalf("first assignment: got %q, %v; want expired", got.State, err)
	}
	// The second worker finishes the task; the first one's late answer is
	// kept, flagged late, not counted.
	if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a2.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a1.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || out.Counted || out.Flag != work.FlagLate {
		t.Fatalf("late answer on a done task: got %+v, %v; want kept as late, not counted", out, err)
	}
}

// submitLabel submits label on an assignment and returns the outcome.
func submitLabel(t *testing.T, s *tstore, p work.Project, a work.Assignment, label string) SubmitOutcome {
	t.Helper()
	out, err := s.Record(context.Background(), SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: a.WorkerID,
		Answer: work.Answer{Label: label}, ReportedMS: 5, SampleDraw: 1}, majority(p))
	if err != nil {
		t.Fatalf("submit %s: %v", label, err)
	}
	return out
}

// A late answer never takes the place of the worker who holds the task
// now: it counts only as an extra judgment while the task has room for it
// beside every holder (within max_overlap), it does not settle the task
// while they hold their places, and otherwise it is kept as late.
func TestLateAnswerNeverDisplacesTheHolder(t *testing.T) {
	t.Parallel()
	type step struct {
		who   int // 0 answers late; 1 and 2 hold places
		label string
		// want
		counted bool
		flag    string
		state   work.TaskState
	}
	cases := []struct {
		name                string
		overlap, maxOverlap int
		holders             int // workers who take the task after worker 0 timed out
		steps               []step
		result              string
	}{
		{name: "no room: the late answer is kept as late and the holder's answer is the result",
			overlap: 1, maxOverlap: 1, holders: 1,
			steps: []step{
				{who: 0, label: "a", flag: work.FlagLate, state: work.TaskInProgress},
				{who: 1, label: "b", counted: true, state: work.TaskDone},
			}, result: "b"},
		{name: "room: the late answer is an extra judgment and waits for the holder",
			overlap: 1, maxOverlap: 3, holders: 1,
			steps: []step{
				{who: 0, label: "b", counted: true, state: work.TaskInProgress},
				{who: 1, label: "b", counted: true, state: work.TaskDone},
			}, result: "b"},
		{name: "two holders: the late answer cannot settle the task with the first of them",
			overlap: 2, maxOverlap: 3, holders: 2,
			steps: []step{
				{who: 0, label: "c", counted: true, state: work.TaskInProgress},
				{who: 1, label: "c", counted: true, state: work.TaskInProgress},
				{who: 2, label: "a", counted: true, state: work.TaskDone},
			}, result: "c"},
		{name: "room only for the holders: late",
			overlap: 2, maxOverlap: 2, holders: 2,
			steps: []step{
				{who: 0, label: "c", flag: work.FlagLate, state: work.TaskInProgress},
				{who: 1, label: "a", counted: true, state: work.TaskInProgress},
				{who: 2, label: "a", counted: true, state: work.TaskDone},
			}, result: "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clk := newStore(t)
			ctx := context.Background()
			p := fixture(t, s, tc.overlap, tc.maxOverlap)
			if _, err := s.Exec(ctx, `INSERT INTO rate_cards (project_id, currency, client_price, worker_pay, center_share, gst_bps,
					approve_after_seconds, overturn_seconds, gold_bonus, updated_at) VALUES (?, 'INR', 500, 300, 0, 0, 0, 0, 0, ?)`,
				p.ID, store.TimeText(clk.Now())); err != nil { // the rate card (the ledger's) pays counted answers
				t.Fatal(err)
			}
			if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
				t.Fatal(err)
			}
			ws := workers(t, s, 3)
			var as []work.Assignment
			a0, _, err := s.Claim(ctx, ws[0].ID, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			as = append(as, a0)
			clk.Add(2 * time.Minute) // worker 0's minute runs out
			for i := 1; i <= tc.holders; i++ {
				a, _, err := s.Claim(ctx, ws[i].ID, "", 1)
				if err != nil {
					t.Fatalf("holder %d: %v", i, err)
				}
				as = append(as, a)
			}
			for i, st := range tc.steps {
				out := submitLabel(t, s, p, as[st.who], st.label)
				task, _ := project.Task(ctx, s.Store, as[0].TaskID)
				if out.Counted != st.counted || out.Flag != st.flag || task.State != st.state {
					t.Fatalf("step %d (worker %d): got counted %v, flag %q, task %s; want %v, %q, %s",
						i, st.who, out.Counted, out.Flag, task.State, st.counted, st.flag, st.state)
				}
			}
			var result string
			if err := s.queryRow(`SELECT answer FROM results WHERE task_id = ?`, as[0].TaskID).Scan(&result); err != nil ||
				result != `{"label":"`+tc.result+`"}` {
				t.Fatalf("result: got %s, %v; want label %q", result, err, tc.result)
			}
			// Counted answers are paid; a late one is not.
			for i, st := range tc.steps {
				var paid int
				s.queryRow(`SELECT count(*) FROM money_events WHERE kind = 'pay' AND ref = ?`, as[st.who].ID).Scan(&paid)
				if want := map[bool]int{true: 1, false: 0}[st.counted]; paid != want {
					t.Fatalf("step %d (worker %d): %d pay events, want %d", i, st.who, paid, want)
				}
			}
		})
	}
}

func TestSubmitIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 3, 3)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	a, _, _ := s.Claim(ctx, ws[0].ID, "", 1)
	if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || !out.Duplicate {
		t.Fatalf("same answer again: got %+v, %v; want duplicate", out, err)
	}
	if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("different answer again: got %v, want store.ErrConflict", err)
	}
	if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another worker's assignment: got %v, want store.ErrNotFound", err)
	}
	task, _ := project.Task(ctx, s.Store, a.TaskID)
	if task.Answers != 1 {
		t.Fatalf("got %d answers counted, want 1", task.Answers)
	}
}

func TestDisagreementGoesToReview(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 3)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 4)
	for i, label := range []string{"a", "b", "c"} {
		a, _, err := s.Claim(ctx, ws[i].ID, "", 1)
		if err != nil {
			t.Fatalf("answer %d: claim: %v", i+1, err)
		}
		if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[i].ID, Answer: work.Answer{Label: label}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Claim(ctx, ws[3].ID, "", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim of a task in review: got %v, want store.ErrNotFound", err)
	}
	queue, err := project.ProjectTasks(ctx, s.Store, p.ID, work.TaskNeedsReview, store.Page{Limit: 10})
	if err != nil || len(queue) != 1 {
		t.Fatalf("review queue: got %d, %v; want 1 task", len(queue), err)
	}
	if err := s.ResolveAnswer(ctx, queue[0].ID, ws[3].ID, work.Answer{Label: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveAnswer(ctx, queue[0].ID, ws[3].ID, work.Answer{Label: "b"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("resolve twice: got %v, want store.ErrConflict", err)
	}
	res, err := project.Results(ctx, s.Store, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 10})
	if err != nil || len(res) != 1 || res[0].Answer.Label != "b" || res[0].Source != work.SourceReview {
		t.Fatalf("results: got %+v, %v; want one reviewed result b", res, err)
	}
}

func BenchmarkClaimSubmit(b *testing.B) {
	st := storetest.Open(b, store.Options{})
	s := &tstore{Store: st, Service: &Service{Store: st}}
	ctx := context.Background()
	c := newOrg(b, s, "client", "bench")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	p, _ := project.CreateProject(ctx, s.Store, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(b.N+1)); err != nil {
		b.Fatal(err)
	}
	u := newUser(b, s, auth.BuiltinCenterOrgID, "w", "worker")
	decide := majority(p)
	b.ResetTimer()
	for range b.N {
		a, _, err := s.Claim(ctx, u.ID, "", 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: u.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 1, SampleDraw: 1}, decide); err != nil {
			b.Fatal(err)
		}
	}
}

// onPostgres reports whether this run's tests use PostgreSQL.
func onPostgres() bool { return os.Getenv("BANYAN_TEST_ENGINE") == "postgres" }
