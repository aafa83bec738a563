package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// verdictRig is a hub whose center's two workers answered "spam" to the
// one task of a project sampled for review at reviewRate, and whose
// center has a reviewer; answers holds the two answers' ids.
type verdictRig struct {
	h        *Hub
	center   auth.Org
	p        work.Project
	workers  [2]string
	reviewer string
	answers  [2]string
	seq      int64
}

func newVerdictRig(t *testing.T, reviewRate float64) *verdictRig {
	t.Helper()
	h, center := testHub(t)
	ctx := context.Background()
	g := &verdictRig{h: h, center: center, workers: [2]string{work.NewID(), work.NewID()}, reviewer: work.NewID()}
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, h.Store, work.Project{ClientID: client.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 2, MaxOverlap: 3, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, ReviewRate: reviewRate}})
	if err != nil {
		t.Fatal(err)
	}
	g.p = p
	if _, err := ledger.SetRateCard(ctx, h.Store, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"buy now"}`)}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	g.send(t, wire.KindEnrolment, wire.Enrolment{WorkerID: g.workers[0], Name: "lakshmi"}, wire.StatusAccepted)
	g.send(t, wire.KindEnrolment, wire.Enrolment{WorkerID: g.workers[1], Name: "ravi"}, wire.StatusAccepted)
	g.send(t, wire.KindEnrolment, wire.Enrolment{WorkerID: g.reviewer, Name: "anand", Role: "reviewer"}, wire.StatusAccepted)
	leases, err := h.Dispatch.GrantLeases(ctx, dispatch.LeaseRequest{CenterID: center.ID, Want: 2, TTL: 72 * time.Hour})
	if err != nil || len(leases) != 1 {
		t.Fatalf("grant: %+v %v", leases, err)
	}
	for i, w := range g.workers {
		g.answers[i] = g.send(t, wire.KindAnswer, wire.Answer{LeaseID: leases[0].ID, Epoch: leases[0].Epoch, WorkerID: w,
			Answer: json.RawMessage(`{"label":"spam"}`), DurationMS: 5000}, wire.StatusAccepted).ID
	}
	return g
}

// send hands the hub one record of kind, which it must answer want, and
// returns the record.
func (g *verdictRig) send(t *testing.T, kind string, body any, want string) wire.Item {
	t.Helper()
	g.seq++
	it := record(work.NewID(), g.seq, kind, body)
	if v, err := g.h.item(context.Background(), g.center, it, 0); err != nil || v.Status != want {
		t.Fatalf("%s: %+v %v; want %s", kind, v, err, want)
	}
	return it
}

// state is what a center's verdict may change on the hub: results,
// skills, money (the client's charge, the workers' pay) and audits.
func (g *verdictRig) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	r := g.h.Store.Read(ctx)
	var out []string
	for _, q := range []string{
		`SELECT task_id || ' ' || answer || ' ' || source FROM results`,
		`SELECT worker_id || ' ' || CAST(alpha AS TEXT) || '/' || CAST(beta AS TEXT) FROM worker_skills ORDER BY worker_id`,
		`SELECT kind || ' ' || coalesce(worker_id, '-') || ' ' || CAST(coalesce(worker_pay, 0) + coalesce(client_price, 0) AS TEXT) FROM money_events
			ORDER BY kind, worker_id`,
		`SELECT task_id || ' ' || CAST(agreed AS TEXT) FROM audits`,
	} {
		rows, err := r.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := store.Collect(rows, func(r store.Scanner) (string, error) {
			var s string
			return s, r.Scan(&s)
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(lines, "; "))
	}
	return strings.Join(out, "\n")
}

// A center's verdicts change the hub once: a blind audit's settles the
// task (result, skills, pay, an audit), a review the reviewer picked moves
// the reviewed worker's skill only; sent again, either is a duplicate and
// changes nothing.
func TestCenterVerdictsApplyOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		reviewRate float64
		verdict    func(t *testing.T, g *verdictRig) (string, any)
		// changed lists what the verdict changes, one line of state per
		// result, skills, money and audits.
		changed [4]bool
	}{
		{"a blind audit's", 1, func(t *testing.T, g *verdictRig) (string, any) {
			var auditID string
			if err := g.h.Store.Read(context.Background()).QueryRowContext(context.Background(), `SELECT id FROM center_audits WHERE center_id = ? AND state = 'sent'`,
				g.center.ID).Scan(&auditID); err != nil {
				t.Fatalf("no audit sent to the center: %v", err)
			}
			return wire.KindAuditVerdict, wire.AuditVerdict{AuditID: auditID, ReviewerID: g.reviewer, Answer: json.RawMessage(`{"label":"ok"}`)}
		}, [4]bool{true, true, true, true}},
		{"a picked review's", 0, func(t *testing.T, g *verdictRig) (string, any) {
			return wire.KindReview, wire.Review{AssignmentID: g.answers[0], ReviewerID: g.reviewer, Verdict: work.VerdictDisagree,
				Answer: json.RawMessage(`{"label":"ok"}`), Note: "a greeting"}
		}, [4]bool{false, true, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newVerdictRig(t, tc.reviewRate)
			before := strings.Split(g.state(t), "\n")
			kind, body := tc.verdict(t, g)
			it := g.send(t, kind, body, wire.StatusAccepted)
			after := strings.Split(g.state(t), "\n")
			for i, changed := range tc.changed {
				if (before[i] != after[i]) != changed {
					t.Fatalf("state line %d: before %q, after %q; want changed %v", i, before[i], after[i], changed)
				}
			}
			v, err := g.h.item(context.Background(), g.center, it, 0)
			if err != nil || v.Status != wire.StatusDuplicate {
				t.Fatalf("sent again: %+v %v; want a duplicate", v, err)
			}
			if again := strings.Split(g.state(t), "\n"); fmt.Sprint(again) != fmt.Sprint(after) {
				t.Fatalf("sent again, the hub changed:\n%s\nwas\n%s", again, after)
			}
		})
	}
}

// An audit verdict that is not one is refused before anything reads it.
func TestAuditVerdictShape(t *testing.T) {
	t.Parallel()
	g := newVerdictRig(t, 1)
	for _, body := range []any{
		map[string]any{"audit_id": work.NewID(), "reviewer_id": g.reviewer},
		map[string]any{"audit_id": "x", "reviewer_id": g.reviewer, "answer": map[string]string{"label": "ok"}},
		map[string]any{"audit_id": work.NewID(), "reviewer_id": g.reviewer, "answer": map[string]string{"label": "ok"}, "note": "extra"},
	} {
		g.seq++
		v, err := g.h.item(context.Background(), g.center, record(work.NewID(), g.seq, wire.KindAuditVerdict, body), 0)
		if err != nil || v.Status != wire.StatusRejected || !strings.Contains(v.Reason, "needs audit_id, reviewer_id and answer") {
			t.Fatalf("%v: %+v %v", body, v, err)
		}
	}
}
