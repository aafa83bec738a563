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
	"banyan/internal/work"
)

// feedKinds reads the center's feed as it stands, by kind.
func feedKinds(t *testing.T, s *tstore, centerID string) map[string][]json.RawMessage {
	t.Helper()
	rows, err := s.Read(context.Background()).QueryContext(context.Background(), `SELECT kind, body FROM feed WHERE center_id = ? ORDER BY seq`, centerID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]json.RawMessage{}
	err = store.EachRow(rows, func(r store.Scanner) error {
		var kind, body string
		err := r.Scan(&kind, &body)
		out[kind] = append(out[kind], json.RawMessage(body))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A silent center loses its leases of a batch near its deadline; a center
// in touch keeps them; the tasks go back to the pool at once.
func TestRecallNearDeadline(t *testing.T) {
	t.Parallel()
	s, clock := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	due := clock.Now().Add(6 * time.Hour)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "urgent", Purpose: work.PurposeWork, Deadline: &due}, tasksOf(2)); err != nil {
		t.Fatal(err)
	}
	silent, _ := centerWithWorkers(t, s, "silent", 1)
	busy, _ := centerWithWorkers(t, s, "busy", 1)
	ls, err := s.GrantLeases(ctx, LeaseRequest{CenterID: silent.ID, Want: 1, TTL: 72 * time.Hour})
	if err != nil || len(ls) != 1 || ls[0].Deadline == nil || !ls[0].Deadline.Equal(due) {
		t.Fatalf("grant to silent: %+v %v", ls, err)
	}
	lb, err := s.GrantLeases(ctx, LeaseRequest{CenterID: busy.ID, Want: 1, TTL: 72 * time.Hour})
	if err != nil || len(lb) != 1 {
		t.Fatalf("grant to busy: %+v %v", lb, err)
	}
	clock.Add(3 * time.Hour)
	// The busy center was heard from (uplink records each contact).
	if _, err := s.exec(`INSERT INTO center_links (center_id, protocol, version, last_contact, backlog) VALUES (?, 1, 'test', ?, 0)`,
		busy.ID, store.TimeText(s.Now())); err != nil {
		t.Fatal(err)
	}
	// Far from the deadline nothing moves.
	if n, err := s.RecallNearDeadline(ctx, time.Hour, 2*time.Hour); err != nil || n != 0 {
		t.Fatalf("recall far from the deadline: %d %v", n, err)
	}
	n, err := s.RecallNearDeadline(ctx, 12*time.Hour, 2*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("recall: %d %v", n, err)
	}
	if l, _ := s.Lease(ctx, ls[0].ID); l.State != LeaseRecalled {
		t.Fatalf("silent center's lease: %s", l.State)
	}
	if l, _ := s.Lease(ctx, lb[0].ID); l.State != LeaseActive {
		t.Fatalf("busy center's lease: %s", l.State)
	}
	if got := feedKinds(t, s, silent.ID)["recall"]; len(got) != 1 {
		t.Fatalf("silent center's feed: %d recalls", len(got))
	}
	// The task is free again: a hub worker can take it now.
	w := workers(t, s, 1)[0]
	if _, task, err := s.Claim(ctx, w.ID, "", 1); err != nil || task.ID != ls[0].TaskID {
		t.Fatalf("claim after recall: %v (task %s, want %s)", err, task.ID, ls[0].TaskID)
	}
	// The heartbeat tells the silent center too, when it comes back.
	_, gone, err := s.RenewLeases(ctx, silent.ID, []string{ls[0].ID}, time.Hour)
	if err != nil || gone[ls[0].ID] != LeaseRecalled {
		t.Fatalf("heartbeat after recall: %v %v", gone, err)
	}
}

func TestCancelBatch(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 2, 2)
	b, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(3))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := centerWithWorkers(t, s, "village", 1)
	ls, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 1, TTL: time.Hour})
	if err != nil || len(ls) != 1 {
		t.Fatal(err)
	}
	w := workers(t, s, 1)[0]
	a, _, err := s.Claim(ctx, w.ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CancelBatch(ctx, b.ID)
	if err != nil || out.CancelledAt == nil {
		t.Fatalf("cancel: %+v %v", out, err)
	}
	counts, _, _ := project.StateCounts(ctx, s.Store, b.ID)
	if counts[work.TaskFailed] != 3 {
		t.Fatalf("states after cancel: %v", counts)
	}
	if l, _ := s.Lease(ctx, ls[0].ID); l.State != LeaseRecalled {
		t.Fatalf("lease after cancel: %s", l.State)
	}
	if got, _ := s.Assignment(ctx, a.ID); got.State != work.AssignmentExpired {
		t.Fatalf("hub assignment after cancel: %s", got.State)
	}
	if _, _, err := s.Claim(ctx, w.ID, "", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim from a cancelled batch: %v", err)
	}
	if _, err := s.CancelBatch(ctx, b.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second cancel: %v", err)
	}
	if got := feedKinds(t, s, c.ID)["recall"]; len(got) != 1 {
		t.Fatalf("center feed: %d recalls", len(got))
	}
}

func TestProjectChangeReachesCenters(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(2)); err != nil {
		t.Fatal(err)
	}
	holder, _ := centerWithWorkers(t, s, "holder", 1)
	other, _ := centerWithWorkers(t, s, "other", 1)
	if _, err := s.GrantLeases(ctx, LeaseRequest{CenterID: holder.ID, Want: 1, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Project(ctx, p.ID); err != nil { // a read this process keeps
		t.Fatal(err)
	}
	text := "Mark anything selling a product as spam."
	got, err := s.UpdateProject(ctx, p.ID, ProjectChange{Instructions: &text})
	if err != nil || got.Instructions != text || got.Name != p.Name {
		t.Fatalf("update: %+v %v", got, err)
	}
	if again, _ := s.Project(ctx, p.ID); again.Instructions != text {
		t.Fatalf("read after the change: %q", again.Instructions)
	}
	if ev := feedKinds(t, s, holder.ID)["project"]; len(ev) != 1 {
		t.Fatalf("holder's feed: %d project events", len(ev))
	}
	if ev := feedKinds(t, s, other.ID)["project"]; len(ev) != 0 {
		t.Fatalf("a center without the project's tasks heard of it: %d", len(ev))
	}
	if _, err := s.UpdateProject(ctx, work.NewID(), ProjectChange{Instructions: &text}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
	// A resync brings the project as it is now (the feed's reset and its
	// snapshot are package feed's tests).
	snap, err := ProjectSnapshot(ctx, s.Read(ctx), holder.ID)
	if err != nil {
		t.Fatalf("resync: %v", err)
	}
	found := false
	for _, f := range snap {
		if f.Instructions == text {
			found = true
		}
	}
	if !found {
		t.Fatal("the resync snapshot lacks the changed project")
	}
	if other, _ := ProjectSnapshot(ctx, s.Read(ctx), other.ID); len(other) != 0 {
		t.Fatalf("a resync of a center without the project's tasks brings %d projects", len(other))
	}
}

// A batch's progress is counted when it is read; its completion time is
// its last task's, noted the first time a read finds every task final.
func TestBatchProgressAndCompletion(t *testing.T) {
	t.Parallel()
	s, clock := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	b, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(2))
	if err != nil {
		t.Fatal(err)
	}
	w := workers(t, s, 1)[0]
	answer := func() {
		a, _, err := s.Claim(ctx, w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5000, SampleDraw: 1}, majority(p)); err != nil {
			t.Fatal(err)
		}
	}
	answer()
	if got, _ := project.Batch(ctx, s.Store, b.ID); got.TasksDone != 1 || got.CompletedAt != nil {
		t.Fatalf("after one of two: %+v", got)
	}
	clock.Add(time.Minute)
	answer()
	done := clock.Now()
	// Stamped by the answer that settled the last task, not by a read.
	var stamped string
	s.queryRow(`SELECT coalesce(completed_at, '') FROM batches WHERE id = ?`, b.ID).Scan(&stamped)
	if stamped != store.TimeText(done) {
		t.Fatalf("completed_at right after the last task settled: %q, want %q", stamped, store.TimeText(done))
	}
	clock.Add(time.Hour)
	got, err := project.Batch(ctx, s.Store, b.ID)
	if err != nil || got.TasksDone != 2 || got.CompletedAt == nil || !got.CompletedAt.Equal(done) {
		t.Fatalf("after both: %+v %v (want completed at %s)", got, err, done)
	}
	list, _ := project.Batches(ctx, s.Store, p.ID, store.Page{Limit: 10})
	if len(list) != 1 || list[0].CompletedAt == nil || !list[0].CompletedAt.Equal(done) {
		t.Fatalf("listed: %+v", list)
	}
}

// Reading a batch writes nothing: a batch whose tasks are all final but
// which was never stamped (made so by hand here) reads as not completed,
// until the completion sweep stamps it — every such batch, however many
// are open, not the first few hundred.
func TestCompletionSweepCoversEveryBatch(t *testing.T) {
	t.Parallel()
	s, clock := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	const n = 600
	for i := range n {
		if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: fmt.Sprint("b", i), Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
			t.Fatal(err)
		}
	}
	open, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "still open", Purpose: work.PurposeWork}, tasksOf(2))
	if err != nil {
		t.Fatal(err)
	}
	settled := clock.Now()
	if _, err := s.exec(`UPDATE tasks SET state = 'done', updated_at = ? WHERE batch_id <> ?`, store.TimeText(settled), open.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.exec(`UPDATE tasks SET state = 'done', updated_at = ? WHERE id = (SELECT min(id) FROM tasks WHERE batch_id = ?)`, store.TimeText(settled), open.ID); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	list, err := project.Batches(ctx, s.Store, p.ID, store.Page{Limit: n + 1})
	if err != nil || len(list) != n+1 {
		t.Fatalf("listed %d batches, %v", len(list), err)
	}
	for _, b := range list {
		if b.CompletedAt != nil {
			t.Fatalf("reading batch %s stamped it complete", b.Name)
		}
	}
	if err := project.CheckCompletions(ctx, s.Store); err != nil {
		t.Fatal(err)
	}
	var stamped int
	s.queryRow(`SELECT count(*) FROM batches WHERE completed_at = ?`, store.TimeText(settled)).Scan(&stamped)
	got, _ := project.Batch(ctx, s.Store, open.ID)
	if stamped != n || got.CompletedAt != nil {
		t.Fatalf("after the sweep: %d of %d batches stamped at their last settling, the open one %v", stamped, n, got.CompletedAt)
	}
}
