package dispatch

import (
	"context"
	"errors"
	"testing"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// A worker's draft is theirs: another worker can neither overwrite nor
// read it, and a dropped draft is gone.
func TestDrafts(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	org := newOrg(t, s, "center", "village")
	asha := newUser(t, s, org.ID, "Asha", "worker")
	ravi := newUser(t, s, org.ID, "Ravi", "worker")
	if err := SaveDraft(ctx, s.Store, asha.ID, "a1", `{"label":"ok"}`); err != nil {
		t.Fatal(err)
	}
	// Another worker cannot overwrite or read it.
	SaveDraft(ctx, s.Store, ravi.ID, "a1", `{"label":"spam"}`)
	if d, _ := Draft(ctx, s.Store, asha.ID, "a1"); d != `{"label":"ok"}` {
		t.Errorf("draft %q", d)
	}
	if d, _ := Draft(ctx, s.Store, ravi.ID, "a1"); d != "" {
		t.Errorf("another worker reads the draft: %q", d)
	}
	DropDraft(ctx, s.Store, asha.ID, "a1")
	if d, _ := Draft(ctx, s.Store, asha.ID, "a1"); d != "" {
		t.Errorf("dropped draft: %q", d)
	}
}

// A passed task goes back to the pool for others, never to the same worker.
func TestPassAssignment(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(2)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	w1, w2 := ws[0], ws[1]
	a, first, err := s.Claim(ctx, w1.ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pass(ctx, w2.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another worker passing it: %v", err)
	}
	if err := s.Pass(ctx, w1.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Pass(ctx, w1.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("passing it twice: %v", err)
	}
	_, second, err := s.Claim(ctx, w1.ID, "", 1)
	if err != nil || second.ID == first.ID {
		t.Fatalf("after passing, the worker got %s again (%v)", second.ID, err)
	}
	_, other, err := s.Claim(ctx, w2.ID, "", 1)
	if err != nil || other.ID != first.ID {
		t.Fatalf("another worker got %s, want the passed task %s (%v)", other.ID, first.ID, err)
	}
}
