package uplink_test

import (
	"context"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// A task whose reply failed review by rubric goes back to the pool; when
// a village center leases it, the grant carries the reviewer's note, and
// the center's writer is offered the task with it.
func TestLeaseCarriesTheReworkNote(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := f.h
	c, err := h.Auth.CreateOrg(ctx, auth.OrgClient, "support client")
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Respond, []byte(`{"inputs":["question"]}`))
	p, err := project.CreateProject(ctx, h.Store, work.Project{ClientID: c.ID, Name: "support", Kind: work.Respond, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600,
		Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, Rubric: work.DefaultRubric(), ReviewFirst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"question":"Where is my refund?"}`)}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	writer, err := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "hub writer", "worker")
	if err != nil {
		t.Fatal(err)
	}
	reviewer, err := h.Auth.CreateUser(ctx, auth.HubOrgID, "rita", "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := h.Dispatch.Claim(ctx, writer.ID, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Dispatch.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: writer.ID, Answer: work.Answer{Text: "No."},
		OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, SampleDraw: 1}, dispatch.Decider(p)); err != nil {
		t.Fatal(err)
	}
	const note = "Say sorry and give the refund date."
	fail := map[string]int{"accuracy": 0, "tone": 1, "grammar": 1, "completeness": 0, "policy": 1}
	if _, err := h.Dispatch.ResolveRubric(ctx, reviewer.ID, a.TaskID, fail, note); err != nil {
		t.Fatal(err)
	}
	var lr wire.LeaseReply
	if got := f.call("/uplink/v1/leases", wire.LeaseRequest{Want: 1, Skills: []wire.Skill{{Kind: "respond", Language: "en"}}}, &lr, wire.Protocol, f.token); got != 200 || len(lr.Grants) != 1 {
		t.Fatalf("lease: %d, %+v", got, lr)
	}
	if g := lr.Grants[0]; g.ReworkNote != note {
		t.Fatalf("the grant's rework note: %q, want %q", g.ReworkNote, note)
	}

	// At the center.
	st := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox})
	people := &auth.Service{Store: st}
	org, err := people.CreateOrg(ctx, auth.OrgCenter, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	w, err := people.CreateUser(ctx, org.ID, "Kavya", "worker")
	if err != nil {
		t.Fatal(err)
	}
	l := &center.Local{Store: st}
	if err := l.SaveGrants(ctx, time.Hour, lr.Grants); err != nil {
		t.Fatal(err)
	}
	o, err := l.Next(ctx, w.ID, "")
	if err != nil || o.ReworkNote != note {
		t.Fatalf("the center's offer: note %q, %v; want %q", o.ReworkNote, err, note)
	}
}
