package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

func centerWithWorkers(t *testing.T, s *tstore, name string, n int) (testOrg, []string) {
	t.Helper()
	c := newOrg(t, s, "center", name)
	var ids []string
	for i := range n {
		ids = append(ids, newUser(t, s, c.ID, name+"-w"+string(rune('a'+i)), "worker").ID)
	}
	return c, ids
}

// labelAnswer is a classify answer's JSON, as a center sends it.
func labelAnswer(label string) json.RawMessage {
	return json.RawMessage(`{"label":"` + label + `"}`)
}

// receive runs ReceiveAnswer in a transaction of its own, as uplink runs
// it inside an upload's.
func (s *tstore) receive(in CenterAnswer, decide DecideFunc) (wire.Verdict, SubmitOutcome, error) {
	var v wire.Verdict
	var out SubmitOutcome
	err := s.Write(context.Background(), func(tx *store.Tx) (err error) {
		v, out, err = s.ReceiveAnswer(context.Background(), tx, in, decide)
		return err
	})
	return v, out, err
}

// Leases reserve a task's answers for a center; its workers' answers are
// applied under them, and refused from another center or organisation, or
// from a worker who answered the task already. (That a replay is a
// duplicate is uplink's: see its TestUplinkLeaseAndUpload.)
func TestLeaseAndUpload(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 2)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(3)); err != nil {
		t.Fatal(err)
	}
	c, ws := centerWithWorkers(t, s, "village-1", 2)
	leases, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 4, TTL: 72 * time.Hour})
	if err != nil || len(leases) != 2 {
		t.Fatalf("grant: %d leases, %v", len(leases), err)
	}
	l := leases[0]
	if l.Epoch != 1 || l.Slots != 2 || len(l.Payload) == 0 {
		t.Fatalf("lease: %+v", l)
	}
	// The leased tasks are not the hub's to hand out: only the third is.
	hubWorker := workers(t, s, 1)[0]
	a, task, err := s.Claim(ctx, hubWorker.ID, "", 1)
	if err != nil || task.ID == l.TaskID || task.ID == leases[1].TaskID {
		t.Fatalf("hub claim: %v, task %s", err, task.ID)
	}
	_ = a
	args := CenterAnswer{Submission: Submission{WorkID: work.NewID(), WorkerID: ws[0], Answer: labelAnswer("a")}, CenterID: c.ID, LeaseID: l.ID, Epoch: l.Epoch, DurationMS: 4000, SampleDraw: 1}
	res, _, err := s.receive(args, majority(p))
	if err != nil || res.Status != wire.StatusAccepted {
		t.Fatalf("first answer: %+v, %v", res, err)
	}
	again := args
	again.WorkID = work.NewID()
	if res, _, _ := s.receive(again, majority(p)); res.Status != wire.StatusRejected {
		t.Fatalf("same worker twice: %+v, want rejected", res)
	}
	stranger := args
	stranger.WorkID, stranger.WorkerID = work.NewID(), hubWorker.ID
	if res, _, _ := s.receive(stranger, majority(p)); res.Status != wire.StatusRejected {
		t.Fatalf("a worker of another org: %+v, want rejected", res)
	}
	other, _ := centerWithWorkers(t, s, "village-2", 1)
	foreign := args
	foreign.WorkID, foreign.CenterID = work.NewID(), other.ID
	if res, _, _ := s.receive(foreign, majority(p)); res.Status != wire.StatusRejected {
		t.Fatalf("another center's lease: %+v, want rejected", res)
	}
	second := args
	second.WorkID, second.WorkerID = work.NewID(), ws[1]
	res, out, err := s.receive(second, majority(p))
	if err != nil || res.Status != wire.StatusAccepted || out.TaskState != work.TaskDone {
		t.Fatalf("second worker: %+v %+v %v; want accepted and the task done", res, out, err)
	}
	got, _ := s.Lease(ctx, l.ID)
	if got.State != LeaseReturned || got.Used != 2 {
		t.Fatalf("lease after its task settled: %+v", got)
	}
	var holders int
	s.queryRow(`SELECT holders FROM tasks WHERE id = ?`, l.TaskID).Scan(&holders)
	if holders != 0 {
		t.Fatalf("holders after the task settled: %d", holders)
	}
}

// A center offline past its lease: the task goes to another center; both
// upload; one is accepted, the other superseded but kept, nothing lost.
func TestLateResultIsSuperseded(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 3)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	a, aw := centerWithWorkers(t, s, "A", 2)
	b, bw := centerWithWorkers(t, s, "B", 2)
	la, err := s.GrantLeases(ctx, LeaseRequest{CenterID: a.ID, Want: 5, TTL: time.Hour})
	if err != nil || len(la) != 1 {
		t.Fatalf("lease to A: %v %v", la, err)
	}
	if lb, _ := s.GrantLeases(ctx, LeaseRequest{CenterID: b.ID, Want: 5, TTL: time.Hour}); len(lb) != 0 {
		t.Fatalf("the task is A's: B got %d leases", len(lb))
	}
	renewed, gone, err := s.RenewLeases(ctx, a.ID, []string{la[0].ID, "nope"}, time.Hour)
	if err != nil || len(renewed) != 1 || gone["nope"] != "unknown" {
		t.Fatalf("renew: %v %v %v", renewed, gone, err)
	}
	// A goes silent past TTL and grace.
	clk.Add(time.Hour + DefaultLeaseGrace + time.Minute)
	lb, err := s.GrantLeases(ctx, LeaseRequest{CenterID: b.ID, Want: 5, TTL: time.Hour})
	if err != nil || len(lb) != 1 || lb[0].Epoch != 2 {
		t.Fatalf("re-lease to B: %+v %v", lb, err)
	}
	if _, gone, _ := s.RenewLeases(ctx, a.ID, []string{la[0].ID}, time.Hour); gone[la[0].ID] != LeaseExpired {
		t.Fatalf("A's lease after expiry: %v", gone)
	}
	up := func(c string, l Lease, w string, label string) (wire.Verdict, SubmitOutcome) {
		res, out, err := s.receive(CenterAnswer{Submission: Submission{WorkID: work.NewID(), WorkerID: w, Answer: labelAnswer(label)},
			CenterID: c, LeaseID: l.ID, Epoch: l.Epoch, DurationMS: 3000, SampleDraw: 1}, majority(p))
		if err != nil {
			t.Fatal(err)
		}
		return res, out
	}
	res, out := up(b.ID, lb[0], bw[0], "a")
	if res.Status != wire.StatusAccepted || !out.Counted {
		t.Fatalf("B's answer: %+v %+v", res, out)
	}
	// A's answer is late: an extra judgment beside B's place still held,
	// which it must not settle the task under.
	res, out = up(a.ID, la[0], aw[0], "a")
	if res.Status != wire.StatusSuperseded || !out.Counted || out.TaskState != work.TaskInProgress {
		t.Fatalf("A's late answer: %+v %+v; want superseded, counted, the task still open for B", res, out)
	}
	res, out = up(b.ID, lb[0], bw[1], "b")
	if res.Status != wire.StatusAccepted || !out.Counted || out.TaskState != work.TaskDone {
		t.Fatalf("B's holder's answer: %+v %+v; want accepted, counted, settling the task", res, out)
	}
	var n int
	s.queryRow(`SELECT count(*) FROM assignments WHERE state = 'submitted'`).Scan(&n)
	if n != 3 {
		t.Fatalf("%d answers stored, want all 3", n)
	}
}

// An unknown lease is store.ErrNotFound.
func TestUnknownLease(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.Lease(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown lease: %v", err)
	}
}

// A grant whose reply never reached the center comes back to the pool at
// the center's next heartbeat, not days later.
func TestLostGrantsReturn(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(2)); err != nil {
		t.Fatal(err)
	}
	c, _ := centerWithWorkers(t, s, "c", 1)
	leases, _ := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 2, TTL: 72 * time.Hour})
	if len(leases) != 2 {
		t.Fatalf("granted %d", len(leases))
	}
	// The center only ever saved the first grant.
	renewed, _, err := s.RenewLeases(ctx, c.ID, []string{leases[0].ID}, 72*time.Hour)
	if err != nil || len(renewed) != 1 {
		t.Fatalf("renew: %v %v", renewed, err)
	}
	if l, _ := s.Lease(ctx, leases[1].ID); l.State != LeaseReturned {
		t.Fatalf("the lost grant is %s, want returned", l.State)
	}
	hw := workers(t, s, 1)[0]
	if _, task, err := s.Claim(ctx, hw.ID, "", 1); err != nil || task.ID != leases[1].TaskID {
		t.Fatalf("the lost grant's task should be back in the pool: %v", err)
	}
}

// A center gets no more places on a task than it has workers who could
// still answer it, and none once all of them have.
func TestGrantsFitTheCenter(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 3, 3)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	c, ws := centerWithWorkers(t, s, "village", 2)
	leases, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 10, TTL: time.Hour})
	if err != nil || len(leases) != 1 || leases[0].Slots != 2 {
		t.Fatalf("grant to a center of two workers, a task wanting three answers: %+v, %v; want one lease of 2 places", leases, err)
	}
	l := leases[0]
	if more, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 10, TTL: time.Hour}); err != nil || len(more) != 0 {
		t.Fatalf("a second grant while the center holds a place for each of its workers: %+v, %v; want none", more, err)
	}
	for i, w := range ws {
		args := CenterAnswer{Submission: Submission{WorkID: work.NewID(), WorkerID: w, Answer: labelAnswer("a")},
			CenterID: c.ID, LeaseID: l.ID, Epoch: l.Epoch, DurationMS: 4000, SampleDraw: 1}
		if res, _, err := s.receive(args, majority(p)); err != nil || res.Status != wire.StatusAccepted {
			t.Fatalf("answer %d: %+v, %v", i, res, err)
		}
	}
	// The third place is free, but both of the center's workers have
	// answered: the center's heartbeat gives the lease back and the task
	// is not granted to it again.
	if _, _, err := s.RenewLeases(ctx, c.ID, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if again, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 10, TTL: time.Hour}); err != nil || len(again) != 0 {
		t.Fatalf("grant once every worker of the center has answered: %+v, %v; want none", again, err)
	}
	// A hub worker can take it.
	hub := workers(t, s, 1)[0]
	if _, task, err := s.Claim(ctx, hub.ID, "", 1); err != nil || task.ID != l.TaskID {
		t.Fatalf("hub claim: task %s, %v; want %s", task.ID, err, l.TaskID)
	}
	// A center the hub knows no worker of yet is not capped.
	fresh, _ := centerWithWorkers(t, s, "new-village", 0)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "c", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GrantLeases(ctx, LeaseRequest{CenterID: fresh.ID, Want: 10, TTL: time.Hour}); err != nil || len(got) != 1 || got[0].Slots != 3 {
		t.Fatalf("grant to a center with no known worker: %+v, %v; want one lease of 3 places", got, err)
	}
}

// The reads an upload makes inside InOneTx go through its transaction:
// with one connection in the pool they still finish.
func TestReadsInsideOneTxUseIt(t *testing.T) {
	st := storetest.Open(t, store.Options{MaxConns: 1})
	d := &Service{Store: st}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := st.InOneTx(ctx, func(ctx context.Context) error {
		if _, err := d.Lease(ctx, work.NewID()); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("lease: %v", err)
		}
		if _, err := d.Assignment(ctx, work.NewID()); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("assignment: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reads inside one transaction, one connection: %v", err)
	}
}
