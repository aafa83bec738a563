package center_test

import (
	"context"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/training"
)

// Leases are sized to each active worker's pace over the horizon, and
// skills none of the workers may do are not asked for.
func TestLeasesSizedToPaceAndSkills(t *testing.T) {
	t.Parallel()
	g := newRig(t, 200)
	ctx := context.Background()
	g.center.Config.Ahead, g.center.Config.Horizon = 400, 10*time.Minute
	w1, tok1, _ := g.center.EnrolWorker(ctx, "asha")
	w2, _, _ := g.center.EnrolWorker(ctx, "bina")
	d, err := g.center.Sync.Want(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// No history: two minutes a task, so five tasks each.
	if d.Tasks != 10 || len(d.Exclude) != 0 {
		t.Fatalf("demand of two new workers: %+v", d)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := g.center.Local.Queue(ctx)
	if q.FreeSlots < 10 || q.FreeSlots > 11 {
		t.Fatalf("leased after the first sync: %+v", q)
	}
	// asha answers in 3 s (counted as the 5 s floor): ten minutes of her
	// is 120 tasks.
	if n := g.work(tok1, "spam"); n < 5 {
		t.Fatalf("asha did %d tasks", n)
	}
	if d, _ = g.center.Sync.Want(ctx); d.Tasks != 120+5 {
		t.Fatalf("demand after asha's pace is known: %+v", d)
	}
	// Both suspended from the only skill: the center asks for none of it.
	for _, w := range []auth.User{w1, w2} {
		if err := g.upl(w.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ = g.center.Sync.Want(ctx)
	if len(d.Exclude) != 1 || d.Exclude[0] != (dispatch.Skill{Kind: "classify", Language: "en"}) {
		t.Fatalf("closed skills: %+v", d.Exclude)
	}
	before, _ := g.center.Local.Queue(ctx)
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := g.center.Local.Queue(ctx)
	if after.ActiveGrants > before.ActiveGrants {
		t.Fatalf("leased %d more tasks of a skill nobody may do", after.ActiveGrants-before.ActiveGrants)
	}
}

// upl suspends a center worker on the hub once their enrolment is there.
func (g *rig) upl(workerID string) error {
	return training.Suspend(context.Background(), g.hub.Store, workerID, "classify", "en", "complaint from the client")
}
