package center_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/work"
)

// Project changes and recalls reach the center through its feed. Work a
// worker held when the lease was recalled is still saved and reaches the
// hub; nothing new starts on recalled leases.
func TestFeedCarriesChangesAndRecalls(t *testing.T) {
	t.Parallel()
	g := newRig(t, 3)
	ctx := context.Background()
	_, tok, _ := g.center.EnrolWorker(ctx, "meena")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	text := "New rule: links to loan apps are spam."
	if _, err := g.hub.Dispatch.UpdateProject(ctx, g.proj.ID, dispatch.ProjectChange{Instructions: &text}); err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("next: %d", status)
	}
	if got := off["project"].(map[string]any)["instructions"]; got != text {
		t.Fatalf("instructions at the center: %q", got)
	}
	held := off["assignment_id"].(string)

	// The center is closing for a festival: it asks for no new work, and
	// the hub takes back what it holds.
	g.center.Config.Ahead = 0
	n, err := g.hub.Dispatch.RecallFromCenter(ctx, g.center.ID, "", "the center is closing for the festival")
	if err != nil || n != 3 {
		t.Fatalf("recall: %d %v", n, err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := g.center.Local.Queue(ctx)
	if q.ActiveGrants != 0 {
		t.Fatalf("grants after the recall: %+v", q)
	}
	// The task in hand can still be answered; nothing else is offered.
	status, out := g.call(tok, "POST", "/api/v1/assignments/"+held+"/answer", map[string]any{"answer": map[string]string{"label": "spam"}, "duration_ms": 3000})
	if status != 200 || out["status"] != "accepted" {
		t.Fatalf("answer on a recalled lease: %d %v", status, out)
	}
	g.oracle[held] = "spam"
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("offered work on recalled leases: %d", status)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := g.hub.Dispatch.Assignment(ctx, held)
	if err != nil || a.Answer == nil || a.Answer.Label != "spam" {
		t.Fatalf("the answer on the hub: %+v %v", a, err)
	}
	if n, _ := dispatch.AnswersFromOrg(ctx, g.hub.Store, g.center.ID); n != 1 {
		t.Fatalf("the hub holds %d answers from the center, want 1", n)
	}
}

// A lease carries its batch's deadline; the center offers tasks due
// soonest first, whatever order they arrived in.
func TestCenterOffersSoonestDueFirst(t *testing.T) {
	t.Parallel()
	g := newRig(t, 2) // two tasks with no deadline
	ctx := context.Background()
	due := time.Now().Add(24 * time.Hour)
	b, err := project.CreateBatch(ctx, g.hub.Store, g.proj, project.BatchSpec{Name: "urgent", Purpose: work.PurposeWork, Deadline: &due},
		func(yield func(project.NewTask, error) bool) {
			yield(project.NewTask{Payload: []byte(`{"text":"urgent post"}`)}, nil)
		})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, _ := g.center.EnrolWorker(ctx, "kavya")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("next: %d", status)
	}
	if got := off["task"].(map[string]any)["payload"].(map[string]any)["text"]; got != "urgent post" {
		t.Fatalf("first offer: %q, want the task of batch %s with the deadline", got, b.ID)
	}
}
