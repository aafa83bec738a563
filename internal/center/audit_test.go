package center_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/work"
)

// auditRig is a hub and a center with a project sampled for review at
// reviewRate and paid by a rate card, a batch of n tasks, two workers at
// the center and, when withReviewer, a reviewer; the people are on the
// hub and the tasks leased.
type auditRig struct {
	*rig
	batch              work.Batch
	workers, tokens    [2]string
	reviewer, reviewTo string
}

func newAuditRig(t *testing.T, n int, reviewRate float64, withReviewer bool) *auditRig {
	t.Helper()
	g := &auditRig{rig: startHub(t)}
	ctx := context.Background()
	c, _ := g.hub.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, g.hub.Store, work.Project{ClientID: c.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 2, MaxOverlap: 3, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, ReviewRate: reviewRate}})
	if err != nil {
		t.Fatal(err)
	}
	g.proj = p
	if _, err := ledger.SetRateCard(ctx, g.hub.Store, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300}); err != nil {
		t.Fatal(err)
	}
	g.batch, err = project.CreateBatch(ctx, g.hub.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"post %d"}`, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	g.startCenter(0, nil)
	for i, name := range []string{"lakshmi", "ravi"} {
		u, tok, err := g.center.EnrolWorker(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		g.workers[i], g.tokens[i] = u.ID, tok
	}
	if withReviewer {
		u, tok, err := g.center.AddPerson(ctx, "anand", auth.Reviewer)
		if err != nil {
			t.Fatal(err)
		}
		g.reviewer, g.reviewTo = u.ID, tok
	}
	g.sync()
	return g
}

// sync runs one round with the hub, which must succeed.
func (g *auditRig) sync() {
	g.t.Helper()
	if err := g.center.Sync.Once(context.Background()); err != nil {
		g.t.Fatalf("sync: %v", err)
	}
}

// hubState is what a verdict may change on the hub: the results, each
// worker's skill and pay, and the batch's estimated accuracy.
type hubState struct {
	Results  string
	Skills   [2]string
	Pay      [2]string
	Accuracy string
}

func (g *auditRig) state() hubState {
	g.t.Helper()
	ctx := context.Background()
	hub := g.hub.Store
	var s hubState
	res, err := project.Results(ctx, hub, project.ResultScope{BatchID: g.batch.ID}, store.Page{Limit: 100})
	if err != nil {
		g.t.Fatal(err)
	}
	for _, r := range res {
		s.Results += fmt.Sprintf("%s:%s/%s ", r.TaskID, r.Answer.Label, r.Source)
	}
	for i, w := range g.workers {
		sk, err := dispatch.Skills(ctx, hub, w)
		if err != nil {
			g.t.Fatal(err)
		}
		s.Skills[i] = fmt.Sprintf("%+v", sk)
		var n int
		var paid int64
		if err := hub.Read(ctx).QueryRowContext(ctx, `SELECT count(*), coalesce(sum(worker_pay), 0) FROM money_events WHERE kind = 'pay' AND worker_id = ?`, w).
			Scan(&n, &paid); err != nil {
			g.t.Fatal(err)
		}
		s.Pay[i] = fmt.Sprintf("%d answers paid %d", n, paid)
	}
	b, err := project.Batch(ctx, hub, g.batch.ID)
	if err != nil {
		g.t.Fatal(err)
	}
	q, err := review.BatchQuality(ctx, hub, b, g.proj)
	if err != nil {
		g.t.Fatal(err)
	}
	if q.EstimatedAccuracy != nil {
		s.Accuracy = fmt.Sprintf("%.2f of %d", q.AuditAgreement, q.EstimatedAccuracy.Sample)
	}
	return s
}

// outboxStatus is the hub's answer to the center's records of kind, as
// the center keeps it.
func (g *auditRig) outboxStatus(kind string) (status, reason string) {
	g.t.Helper()
	ctx := context.Background()
	err := g.center.Store.Read(ctx).QueryRowContext(ctx, `SELECT coalesce(status, ''), coalesce(reason, '') FROM outbox WHERE kind = ?`, kind).Scan(&status, &reason)
	if err != nil {
		g.t.Fatal(err)
	}
	return status, reason
}

// The hub draws a leased task for review and sends it to the center that
// held the lease; the center's reviewer sees the item and not the answers,
// and their verdict does on the hub what a hub reviewer's does — the
// result, both workers' skills and pay, the batch's estimated accuracy —
// once, however often the upload is replayed.
func TestCenterAuditSettlesTheTaskOnce(t *testing.T) {
	t.Parallel()
	g := newAuditRig(t, 1, 1, true)
	ctx := context.Background()
	for _, tok := range g.tokens {
		if n := g.work(tok, "spam"); n != 1 {
			t.Fatalf("a worker answered %d tasks, want 1", n)
		}
	}
	g.sync() // the answers go up, the task is drawn, the audit comes down
	before := g.state()
	if before.Results != "" || before.Pay != [2]string{"0 answers paid 0", "0 answers paid 0"} || before.Accuracy != "" {
		t.Fatalf("the hub before the verdict: %+v; want no result, no pay and no audit yet", before)
	}
	queue, err := g.hub.Dispatch.ReviewQueue(ctx, g.proj.ID, store.Page{Limit: 10})
	if err != nil || len(queue) != 0 {
		t.Fatalf("the hub's review queue: %+v %v; want it empty while the center audits the task", queue, err)
	}
	tasks, _ := project.ProjectTasks(ctx, g.hub.Store, g.proj.ID, work.TaskNeedsReview, store.Page{Limit: 10})
	if len(tasks) != 1 {
		t.Fatalf("tasks waiting for review on the hub: %d, want 1", len(tasks))
	}
	hubReviewer, _ := g.hub.Auth.CreateUser(ctx, auth.HubOrgID, "rita", string(auth.Reviewer))
	if err := g.hub.Dispatch.ResolveAnswer(ctx, tasks[0].ID, hubReviewer.ID, work.Answer{Label: "spam"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a hub reviewer's verdict while the center audits: %v, want a conflict", err)
	}

	if status, out := g.call(g.tokens[0], "GET", "/api/v1/center/review/next", nil); status != http.StatusForbidden {
		t.Fatalf("a worker asking for a review: %d %v", status, out)
	}
	// A manager checks answers, not audits, and is not shown the answers
	// of a task out for audit.
	_, manager, _ := g.center.AddPerson(ctx, "selvi", auth.CenterManager)
	if status, out := g.call(manager, "GET", "/api/v1/center/review/next", nil); status != http.StatusNoContent {
		t.Fatalf("the manager's next item while the only task is audited: %d %v", status, out)
	}
	// A center starting its feed afresh gets the audit again.
	if _, err := g.center.Store.Exec(ctx, `UPDATE center_meta SET value = '0' WHERE key = 'feed_cursor'`); err != nil {
		t.Fatal(err)
	}
	g.sync()
	status, item := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil)
	if status != 200 || item["kind"] != "audit" || item["audit_id"] == nil {
		t.Fatalf("the reviewer's next item: %d %v; want the hub's audit", status, item)
	}
	if _, shown := item["answer"]; shown || item["assignment_id"] != nil {
		t.Fatalf("the audit shows the workers' work: %v", item)
	}
	if got := fmt.Sprint(item["payload"]); got != "map[text:post 0]" {
		t.Fatalf("the audit's item: %s, want the task's payload", got)
	}
	auditID := item["audit_id"].(string)
	path := "/api/v1/center/audits/" + auditID
	if status, out := g.call(g.reviewTo, "POST", path, map[string]any{"answer": map[string]string{"label": "maybe"}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("an answer the project does not allow: %d %v", status, out)
	}
	if status, out := g.call(g.reviewTo, "POST", path, map[string]any{"answer": map[string]string{"label": "ok"}}); status != http.StatusCreated {
		t.Fatalf("the verdict: %d %v", status, out)
	}
	if status, out := g.call(g.reviewTo, "POST", path, map[string]any{"answer": map[string]string{"label": "spam"}}); status != http.StatusConflict {
		t.Fatalf("a second verdict: %d %v", status, out)
	}
	if status, item := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil); status != 200 || item["kind"] != "answer" {
		t.Fatalf("after the audit, the reviewer's next item: %d %v; want a worker's answer to check", status, item)
	}

	g.sync()
	after := g.state()
	task := tasks[0].ID
	want := hubState{Results: task + ":ok/review ", Pay: [2]string{"1 answers paid 300", "1 answers paid 300"}, Accuracy: "0.00 of 1"}
	if after.Results != want.Results || after.Pay != want.Pay || after.Accuracy != want.Accuracy {
		t.Fatalf("the hub after the verdict: %+v; want %+v", after, want)
	}
	for i, w := range g.workers {
		sk, _ := dispatch.Skills(ctx, g.hub.Store, w)
		if len(sk) != 1 || sk[0].Scored != 1 || sk[0].Beta != 2 {
			t.Fatalf("worker %d's skill: %+v; want one answer scored wrong (beta 1 → 2)", i, sk)
		}
	}
	if status, _ := g.outboxStatus("audit_verdict"); status != "accepted" {
		t.Fatalf("the verdict's status: %s", status)
	}

	// The hub is asked again (a reply lost, a restored hub): it answers
	// duplicate and changes nothing.
	if _, err := g.center.Store.Exec(ctx, `UPDATE outbox SET acked_at = NULL, status = NULL, reason = NULL WHERE kind = 'audit_verdict'`); err != nil {
		t.Fatal(err)
	}
	g.sync()
	if status, reason := g.outboxStatus("audit_verdict"); status != "duplicate" || reason != "first answered accepted" {
		t.Fatalf("the verdict sent again: %s (%s); want a duplicate", status, reason)
	}
	if again := g.state(); again != after {
		t.Fatalf("the hub after the replay:\n%+v\nwant it as it was:\n%+v", again, after)
	}
}

// A center with no reviewer leaves the tasks drawn for review in the
// hub's own queue, as before.
func TestAuditStaysAtHubWithoutCenterReviewer(t *testing.T) {
	t.Parallel()
	g := newAuditRig(t, 1, 1, false)
	ctx := context.Background()
	for _, tok := range g.tokens {
		g.work(tok, "spam")
	}
	g.sync()
	queue, err := g.hub.Dispatch.ReviewQueue(ctx, g.proj.ID, store.Page{Limit: 10})
	if err != nil || len(queue) != 1 || queue[0].ReviewReason != dispatch.ReviewSample {
		t.Fatalf("the hub's review queue: %+v %v; want the drawn task", queue, err)
	}
	var audits int
	g.center.Store.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM center_audit_tasks`).Scan(&audits)
	if audits != 0 {
		t.Fatalf("audits at a center with no reviewer: %d", audits)
	}
	hubReviewer, _ := g.hub.Auth.CreateUser(ctx, auth.HubOrgID, "rita", string(auth.Reviewer))
	if err := g.hub.Dispatch.ResolveAnswer(ctx, queue[0].ID, hubReviewer.ID, work.Answer{Label: "spam"}); err != nil {
		t.Fatalf("the hub's reviewer: %v", err)
	}
	if s := g.state(); s.Accuracy != "1.00 of 1" {
		t.Fatalf("the batch's audits: %q, want 1.00 of 1", s.Accuracy)
	}
}

// An audit with no verdict in time goes back to the hub's queue; the
// center hears of it, refuses a verdict on it from then on, and a verdict
// it saved before is refused by the hub with the reason.
func TestTimedOutAuditReturnsToHub(t *testing.T) {
	t.Parallel()
	g := newAuditRig(t, 2, 1, true)
	ctx := context.Background()
	for _, tok := range g.tokens {
		if n := g.work(tok, "spam"); n != 2 {
			t.Fatalf("a worker answered %d tasks, want 2", n)
		}
	}
	g.sync()
	_, first := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil)
	late := first["audit_id"].(string)
	if status, out := g.call(g.reviewTo, "POST", "/api/v1/center/audits/"+late, map[string]any{"answer": map[string]string{"label": "spam"}}); status != http.StatusCreated {
		t.Fatalf("the verdict before the link went down: %d %v", status, out)
	}
	_, second := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil)
	unanswered := second["audit_id"].(string)
	if second["kind"] != "audit" || unanswered == late {
		t.Fatalf("the second audit: %v", second)
	}

	// The center is silent past the audits' time.
	g.skip(dispatch.DefaultAuditTimeout + time.Hour)
	if n, err := g.hub.Dispatch.RecallAudits(ctx); err != nil || n != 2 {
		t.Fatalf("audits taken back: %d %v, want 2", n, err)
	}
	queue, _ := g.hub.Dispatch.ReviewQueue(ctx, g.proj.ID, store.Page{Limit: 10})
	if len(queue) != 2 {
		t.Fatalf("the hub's review queue after the timeout: %d tasks, want 2", len(queue))
	}
	g.sync()
	if status, reason := g.outboxStatus("audit_verdict"); status != "rejected" || !strings.Contains(reason, "taken back") || !strings.Contains(reason, "no verdict within 48h") {
		t.Fatalf("the late verdict: %s (%s); want it refused as taken back", status, reason)
	}
	status, out := g.call(g.reviewTo, "POST", "/api/v1/center/audits/"+unanswered, map[string]any{"answer": map[string]string{"label": "spam"}})
	if status != http.StatusConflict || !strings.Contains(fmt.Sprint(out["detail"]), "took audit") {
		t.Fatalf("a verdict on an audit the hub took back: %d %v", status, out)
	}
	if _, item := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil); item["kind"] == "audit" {
		t.Fatalf("an audit the hub took back is still offered: %v", item)
	}
	if s := g.state(); s.Results != "" || s.Accuracy != "" {
		t.Fatalf("the late verdict changed the hub: %+v", s)
	}
	hubReviewer, _ := g.hub.Auth.CreateUser(ctx, auth.HubOrgID, "rita", string(auth.Reviewer))
	for _, task := range queue {
		if err := g.hub.Dispatch.ResolveAnswer(ctx, task.ID, hubReviewer.ID, work.Answer{Label: "spam"}); err != nil {
			t.Fatalf("the hub's reviewer on a task taken back: %v", err)
		}
	}
	if s := g.state(); s.Accuracy != "1.00 of 2" {
		t.Fatalf("the batch's audits: %q, want 1.00 of 2", s.Accuracy)
	}
}

// A reviewer's check of an answer they picked themselves moves that
// worker's skill — agreeing counts as right, a correction scores the
// answer against it — and nothing else, once.
func TestSelfPickedReviewMovesSkillOnly(t *testing.T) {
	t.Parallel()
	g := newAuditRig(t, 1, 0, true)
	ctx := context.Background()
	var answers [2]string
	for i, tok := range g.tokens {
		answers[i] = mustWork(t, g.rig, tok)
		if status, out := g.call(tok, "POST", "/api/v1/assignments/"+answers[i]+"/answer", map[string]any{"answer": map[string]string{"label": "spam"}}); status != 200 {
			t.Fatalf("answer: %d %v", status, out)
		}
	}
	g.sync()
	before := g.state()
	if before.Pay != [2]string{"1 answers paid 300", "1 answers paid 300"} || !strings.HasSuffix(before.Results, ":spam/agreement ") {
		t.Fatalf("the hub before the reviews: %+v", before)
	}
	reviews := []struct {
		name   string
		review map[string]any
		// alpha and beta are the worker's skill after it, from the prior
		// of 3 and 1.
		alpha, beta float64
	}{
		{"agrees", map[string]any{"assignment_id": answers[0], "verdict": "agree"}, 4, 1},
		{"corrects", map[string]any{"assignment_id": answers[1], "verdict": "disagree", "answer": map[string]string{"label": "ok"}}, 3, 2},
	}
	for _, r := range reviews {
		if status, out := g.call(g.reviewTo, "POST", "/api/v1/center/reviews", r.review); status != http.StatusCreated {
			t.Fatalf("%s: %d %v", r.name, status, out)
		}
	}
	g.sync()
	if _, err := g.center.Store.Exec(ctx, `UPDATE outbox SET acked_at = NULL WHERE kind = 'review'`); err != nil {
		t.Fatal(err)
	}
	g.sync() // sent again: duplicates
	after := g.state()
	if after.Results != before.Results || after.Pay != before.Pay || after.Accuracy != "" {
		t.Fatalf("the hub after the reviews: %+v; want the result and pay as before, no audit: %+v", after, before)
	}
	for i, r := range reviews {
		sk, _ := dispatch.Skills(ctx, g.hub.Store, g.workers[i])
		if len(sk) != 1 || sk[0].Scored != 1 || sk[0].Alpha != r.alpha || sk[0].Beta != r.beta {
			t.Fatalf("%s: the worker's skill %+v; want alpha %v, beta %v after one scored answer", r.name, sk, r.alpha, r.beta)
		}
	}
}

// Nobody audits a task blind whose answer they have seen: a reviewer who
// checked an answer to it is not offered its audit, and is refused if
// they try; another reviewer takes it.
func TestAuditNotOfferedToWhoSawAnAnswer(t *testing.T) {
	t.Parallel()
	g := newAuditRig(t, 1, 1, true)
	ctx := context.Background()
	first := mustWork(t, g.rig, g.tokens[0])
	if status, out := g.call(g.tokens[0], "POST", "/api/v1/assignments/"+first+"/answer", map[string]any{"answer": map[string]string{"label": "spam"}}); status != 200 {
		t.Fatalf("answer: %d %v", status, out)
	}
	if status, out := g.call(g.reviewTo, "POST", "/api/v1/center/reviews", map[string]any{"assignment_id": first, "verdict": "agree"}); status != http.StatusCreated {
		t.Fatalf("a check of the first answer: %d %v", status, out)
	}
	g.work(g.tokens[1], "spam")
	_, other, err := g.center.AddPerson(ctx, "kavya", auth.Reviewer)
	if err != nil {
		t.Fatal(err)
	}
	g.sync()
	var auditID string
	if err := g.center.Store.Read(ctx).QueryRowContext(ctx, `SELECT id FROM center_audit_tasks`).Scan(&auditID); err != nil {
		t.Fatalf("no audit at the center: %v", err)
	}
	if status, item := g.call(g.reviewTo, "GET", "/api/v1/center/review/next", nil); item["kind"] == "audit" {
		t.Fatalf("the reviewer who checked an answer is offered the audit: %d %v", status, item)
	}
	if status, out := g.call(g.reviewTo, "POST", "/api/v1/center/audits/"+auditID, map[string]any{"answer": map[string]string{"label": "ok"}}); status != http.StatusForbidden {
		t.Fatalf("their verdict: %d %v; want 403", status, out)
	}
	if status, item := g.call(other, "GET", "/api/v1/center/review/next", nil); item["audit_id"] != auditID {
		t.Fatalf("the other reviewer's next item: %d %v; want the audit", status, item)
	}
}
