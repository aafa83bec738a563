package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banyan/internal/work"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), testDSN(t), Options{Migrate: true, Now: c.now, Key: testKey()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// fixture makes a client with a classify project.
func fixture(t *testing.T, s *Store, overlap, maxOverlap int) work.Project {
	t.Helper()
	ctx := context.Background()
	c := newOrg(t, s, "client", "client "+t.Name())
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tasksOf(n int) iter.Seq2[NewTask, error] {
	return func(yield func(NewTask, error) bool) {
		for i := range n {
			if !yield(NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"text":"item %d"}`, i))}, nil) {
				return
			}
		}
	}
}

func workers(t *testing.T, s *Store, n int) []testUser {
	t.Helper()
	out := make([]testUser, n)
	for i := range out {
		out[i] = newUser(t, s, builtinCenterOrgID, fmt.Sprintf("w%03d", i), "worker")
	}
	return out
}

// Organisations and users are auth's, which a test inside this package
// cannot import; newOrg and newUser insert the rows a test needs as they
// are.

// testOrg is an organisation a test made.
type testOrg struct{ ID string }

// newOrg adds an organisation of a kind ("client", "center").
func newOrg(t testing.TB, s *Store, kind, name string) testOrg {
	t.Helper()
	o := testOrg{ID: work.NewID()}
	if _, err := s.w.Exec(`INSERT INTO orgs (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, o.ID, kind, name, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	return o
}

// testUser is a person a test made.
type testUser struct{ ID string }

// newUser adds a person with a role to an organisation.
func newUser(t testing.TB, s *Store, orgID, name, role string) testUser {
	t.Helper()
	u := testUser{ID: work.NewID()}
	if _, err := s.w.Exec(`INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`, u.ID, orgID, name, role, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	return u
}

// enrol stores a center's enrolment of a worker once, as the hub's
// receiver does (auth's UplinkEnrol, less its checks), and returns the
// item's status.
func enrol(t testing.TB, s *Store, it UplinkItem, workerID, name string) string {
	t.Helper()
	res, err := s.UplinkOnce(context.Background(), it, func(tx *Tx) (UplinkResult, error) {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, 'worker', ?)`,
			workerID, it.CenterID, name, ts(s.now()))
		return accepted, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
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

func TestMigrationsApplyOnce(t *testing.T) {
	t.Parallel()
	path := testDSN(t)
	ctx := context.Background()
	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatalf("open without Migrate on a new database: got nil error, want pending migrations")
	}
	s, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen a migrated database: %v", err)
	}
	defer s.Close()
	pending, err := s.PendingMigrations(ctx)
	if err != nil || len(pending) != 0 {
		t.Fatalf("got %d pending, %v; want none", len(pending), err)
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
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(tasks)); err != nil {
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
				if errors.Is(err, ErrNotFound) {
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
				if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 10, SampleDraw: 1}, majority(p)); err != nil {
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
		if err := s.CheckCompletions(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.Batches(ctx, p.ID, Page{Limit: 10})
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
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(5)); err != nil {
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
			} else if !errors.Is(err, ErrNotFound) {
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
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
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
	if _, _, err := s.Claim(ctx, ws[1].ID, "", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim while held: got %v, want ErrNotFound", err)
	}
	clk.add(61 * time.Second)
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
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a2.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a1.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || out.Counted || out.Flag != work.FlagLate {
		t.Fatalf("late answer on a done task: got %+v, %v; want kept as late, not counted", out, err)
	}
}

// submitLabel submits label on an assignment and returns the outcome.
func submitLabel(t *testing.T, s *Store, p work.Project, a work.Assignment, label string) SubmitOutcome {
	t.Helper()
	out, err := s.Submit(context.Background(), SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: a.WorkerID,
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
				p.ID, ts(clk.now())); err != nil { // the rate card (the ledger's) pays counted answers
				t.Fatal(err)
			}
			if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
				t.Fatal(err)
			}
			ws := workers(t, s, 3)
			var as []work.Assignment
			a0, _, err := s.Claim(ctx, ws[0].ID, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			as = append(as, a0)
			clk.add(2 * time.Minute) // worker 0's minute runs out
			for i := 1; i <= tc.holders; i++ {
				a, _, err := s.Claim(ctx, ws[i].ID, "", 1)
				if err != nil {
					t.Fatalf("holder %d: %v", i, err)
				}
				as = append(as, a)
			}
			for i, st := range tc.steps {
				out := submitLabel(t, s, p, as[st.who], st.label)
				task, _ := s.Task(ctx, as[0].TaskID)
				if out.Counted != st.counted || out.Flag != st.flag || task.State != st.state {
					t.Fatalf("step %d (worker %d): got counted %v, flag %q, task %s; want %v, %q, %s",
						i, st.who, out.Counted, out.Flag, task.State, st.counted, st.flag, st.state)
				}
			}
			var result string
			if err := s.r.QueryRow(`SELECT answer FROM results WHERE task_id = ?`, as[0].TaskID).Scan(&result); err != nil ||
				result != `{"label":"`+tc.result+`"}` {
				t.Fatalf("result: got %s, %v; want label %q", result, err, tc.result)
			}
			// Counted answers are paid; a late one is not.
			for i, st := range tc.steps {
				var paid int
				s.r.QueryRow(`SELECT count(*) FROM money_events WHERE kind = 'pay' AND ref = ?`, as[st.who].ID).Scan(&paid)
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
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	a, _, _ := s.Claim(ctx, ws[0].ID, "", 1)
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || !out.Duplicate {
		t.Fatalf("same answer again: got %+v, %v; want duplicate", out, err)
	}
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, ErrConflict) {
		t.Fatalf("different answer again: got %v, want ErrConflict", err)
	}
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another worker's assignment: got %v, want ErrNotFound", err)
	}
	task, _ := s.Task(ctx, a.TaskID)
	if task.Answers != 1 {
		t.Fatalf("got %d answers counted, want 1", task.Answers)
	}
}

func TestDisagreementGoesToReview(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 3)
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 4)
	for i, label := range []string{"a", "b", "c"} {
		a, _, err := s.Claim(ctx, ws[i].ID, "", 1)
		if err != nil {
			t.Fatalf("answer %d: claim: %v", i+1, err)
		}
		if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[i].ID, Answer: work.Answer{Label: label}, ReportedMS: 5, SampleDraw: 1}, majority(p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Claim(ctx, ws[3].ID, "", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim of a task in review: got %v, want ErrNotFound", err)
	}
	queue, err := s.ProjectTasks(ctx, p.ID, work.TaskNeedsReview, Page{Limit: 10})
	if err != nil || len(queue) != 1 {
		t.Fatalf("review queue: got %d, %v; want 1 task", len(queue), err)
	}
	if err := s.Resolve(ctx, queue[0].ID, ws[3].ID, work.Answer{Label: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx, queue[0].ID, ws[3].ID, work.Answer{Label: "b"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("resolve twice: got %v, want ErrConflict", err)
	}
	res, err := s.Results(ctx, ResultScope{ProjectID: p.ID}, Page{Limit: 10})
	if err != nil || len(res) != 1 || res[0].Answer.Label != "b" || res[0].Source != work.SourceReview {
		t.Fatalf("results: got %+v, %v; want one reviewed result b", res, err)
	}
}

func TestCreateBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	failing := func(yield func(NewTask, error) bool) {
		for i := range 1000 {
			if i == 700 {
				yield(NewTask{}, errors.New("row 700 is bad"))
				return
			}
			if !yield(NewTask{Payload: []byte(`{"text":"x"}`)}, nil) {
				return
			}
		}
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "bad", Purpose: work.PurposeWork}, failing); err == nil {
		t.Fatalf("got nil error from a failing batch")
	}
	bs, _ := s.Batches(ctx, p.ID, Page{Limit: 10})
	var n int
	s.r.QueryRow(`SELECT count(*) FROM tasks`).Scan(&n)
	if len(bs) != 0 || n != 0 {
		t.Fatalf("after a failed batch: %d batches and %d tasks remain, want none", len(bs), n)
	}
}

func BenchmarkClaimSubmit(b *testing.B) {
	s, err := Open(context.Background(), testDSN(b), Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c := newOrg(b, s, "client", "bench")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	p, _ := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(b.N+1)); err != nil {
		b.Fatal(err)
	}
	u := newUser(b, s, builtinCenterOrgID, "w", "worker")
	decide := majority(p)
	b.ResetTimer()
	for range b.N {
		a, _, err := s.Claim(ctx, u.ID, "", 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: u.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 1, SampleDraw: 1}, decide); err != nil {
			b.Fatal(err)
		}
	}
}
