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
	c, err := s.CreateOrg(ctx, OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
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

func workers(t *testing.T, s *Store, n int) []User {
	t.Helper()
	out := make([]User, n)
	for i := range out {
		u, err := s.CreateUser(context.Background(), BuiltinCenterOrgID, fmt.Sprintf("w%03d", i), "worker")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = u
	}
	return out
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
					errs <- fmt.Errorf("worker %s got task %s twice", w.Name, task.ID)
					return
				}
				held[task.ID][w.ID] = true
				mu.Unlock()
				if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, DurationMS: 10, SampleDraw: 1}, majority(p)); err != nil {
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
	// kept but refused as closed.
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a2.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "b"}, DurationMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a1.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, DurationMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, ErrAssignmentClosed) {
		t.Fatalf("late answer on a done task: got %v, want ErrAssignmentClosed", err)
	}
}

// A late answer on a task still open counts as an extra judgment.
func TestLateAnswerCountsWhileOpen(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 3)
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 3)
	a0, _, _ := s.Claim(ctx, ws[0].ID, "", 1)
	clk.add(2 * time.Minute)
	a1, _, _ := s.Claim(ctx, ws[1].ID, "", 1)
	a2, _, err := s.Claim(ctx, ws[2].ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a0.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "c"}, DurationMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || !out.Counted {
		t.Fatalf("late answer while open: got %+v, %v; want counted", out, err)
	}
	s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a1.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "c"}, DurationMS: 5, SampleDraw: 1}, majority(p))
	task, _ := s.Task(ctx, a1.TaskID)
	if task.State != work.TaskDone || task.Answers != 2 {
		t.Fatalf("got task %s with %d answers, want done with 2", task.State, task.Answers)
	}
	out, err = s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a2.ID, WorkerID: ws[2].ID, Answer: work.Answer{Label: "a"}, DurationMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || out.Counted {
		t.Fatalf("answer after the result was final: got %+v, %v; want kept, not counted", out, err)
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
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, DurationMS: 5, SampleDraw: 1}, majority(p)); err != nil {
		t.Fatal(err)
	}
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, DurationMS: 5, SampleDraw: 1}, majority(p))
	if err != nil || !out.Duplicate {
		t.Fatalf("same answer again: got %+v, %v; want duplicate", out, err)
	}
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "b"}, DurationMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, ErrConflict) {
		t.Fatalf("different answer again: got %v, want ErrConflict", err)
	}
	if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[1].ID, Answer: work.Answer{Label: "a"}, DurationMS: 5, SampleDraw: 1}, majority(p)); !errors.Is(err, ErrNotFound) {
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
		if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[i].ID, Answer: work.Answer{Label: label}, DurationMS: 5, SampleDraw: 1}, majority(p)); err != nil {
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
	c, _ := s.CreateOrg(ctx, OrgClient, "bench")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	p, _ := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(b.N+1)); err != nil {
		b.Fatal(err)
	}
	u, _ := s.CreateUser(ctx, BuiltinCenterOrgID, "w", "worker")
	decide := majority(p)
	b.ResetTimer()
	for range b.N {
		a, _, err := s.Claim(ctx, u.ID, "", 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: u.ID, Answer: work.Answer{Label: "a"}, DurationMS: 1, SampleDraw: 1}, decide); err != nil {
			b.Fatal(err)
		}
	}
}
