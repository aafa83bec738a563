package center_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/report"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/work"
)

func (g *rig) course(name, purpose, language string, items ...string) work.Course {
	g.t.Helper()
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	c, err := training.CreateCourse(context.Background(), g.hub.Store, work.Course{Name: name, Purpose: purpose, Kind: work.Classify, Language: language,
		Schema: schema, Instructions: "Spam sells.", PassMark: 0.5, CooldownSeconds: 3600},
		func(yield func(training.CourseItemIn, error) bool) {
			for i, label := range items {
				if !yield(training.CourseItemIn{Payload: []byte(fmt.Sprintf(`{"text":"item %d"}`, i)),
					Answer: []byte(`{"label":"` + label + `"}`), Explanation: "because " + label}, nil) {
					return
				}
			}
		})
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

// takeCourse answers every item of a course at the center with label and
// returns the last reply.
func (g *rig) takeCourse(tok, courseID string, labels ...string) map[string]any {
	g.t.Helper()
	return g.takeCourseSlowly(tok, courseID, 0, labels...)
}

// takeCourseSlowly is takeCourse with step skipped on both clocks before
// each request after the first.
func (g *rig) takeCourseSlowly(tok, courseID string, step time.Duration, labels ...string) map[string]any {
	g.t.Helper()
	status, at := g.call(tok, "POST", "/api/v1/courses/"+courseID+"/attempts", nil)
	if status != 201 {
		g.t.Fatalf("start attempt: %d %v", status, at)
	}
	id := at["id"].(string)
	var last map[string]any
	for _, label := range labels {
		g.skip(step)
		status, next := g.call(tok, "GET", "/api/v1/attempts/"+id+"/next", nil)
		if status != 200 {
			g.t.Fatalf("next item: %d %v", status, next)
		}
		item := next["item"].(map[string]any)["id"].(string)
		g.skip(step)
		status, last = g.call(tok, "POST", "/api/v1/attempts/"+id+"/answers", map[string]any{"item_id": item, "answer": map[string]string{"label": label}})
		if status != 200 {
			g.t.Fatalf("answer item: %d %v", status, last)
		}
	}
	return last
}

// Everything born at the center goes up the way answers do: enrolments,
// course answers (scored on the hub for a qualification, whose verdict
// comes back down), active time, self-declarations, reviews and audit
// events, each exactly once.
func TestEverythingBornAtTheCenterGoesUp(t *testing.T) {
	t.Parallel()
	g := newRig(t, 2)
	ctx := context.Background()
	trainingCourse := g.course("spam basics", work.Training, "en", "spam", "ok")
	// In Hindi, so the English tasks below are open to all.
	qual := g.course("spam test", work.Qualification, "hi", "spam", "ok")
	worker, tok, _ := g.center.EnrolWorker(ctx, "sunita")
	_, other, _ := g.center.EnrolWorker(ctx, "devi")
	reviewer, rtok, err := g.center.AddPerson(ctx, "anand", auth.Reviewer)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}

	// Training teaches at once, from the copy the center holds. The worker
	// spends four minutes in it, a request a minute.
	began := g.now()
	last := g.takeCourseSlowly(tok, trainingCourse.ID, time.Minute, "spam", "spam")
	if last["expected"] == nil || last["explanation"] != "because ok" {
		t.Fatalf("training reply: %v", last)
	}
	// The qualification's answers are not at the center: it waits for the hub.
	last = g.takeCourse(tok, qual.ID, "spam", "spam") // one of two right: at the pass mark
	if last["pending"] == nil || last["expected"] != nil {
		t.Fatalf("qualification reply at the center: %v", last)
	}
	attemptID := last["attempt"].(map[string]any)["id"].(string)
	// Task time is measured, never declared; training time is taken when
	// it lies in the course session the center recorded.
	if status, out := g.call(tok, "POST", "/api/v1/me/activity", map[string]any{"started_at": began.UTC().Format(time.RFC3339Nano), "active_ms": 240_000, "what": "tasks"}); status != 422 {
		t.Fatalf("declared task time: %d %v", status, out)
	}
	if status, out := g.call(tok, "POST", "/api/v1/me/activity", map[string]any{"started_at": began.Add(-time.Hour).UTC().Format(time.RFC3339Nano), "active_ms": 240_000, "what": "training"}); status != 422 {
		t.Fatalf("training time outside any session: %d %v", status, out)
	}
	if status, out := g.call(tok, "POST", "/api/v1/me/activity", map[string]any{"started_at": began.UTC().Format(time.RFC3339Nano), "active_ms": 240_000, "what": "training"}); status != 201 {
		t.Fatalf("training time in the session: %d %v", status, out)
	}
	if status, out := g.call(tok, "PUT", "/api/v1/me/declaration", map[string]any{"gender": "woman", "first_job": "yes"}); status != 200 {
		t.Fatalf("declaration: %d %v", status, out)
	}
	if status, out := g.call(tok, "PUT", "/api/v1/me/declaration", map[string]any{"gender": "female"}); status != 422 {
		t.Fatalf("bad declaration: %d %v", status, out)
	}
	answered := mustWork(t, g, other)
	if status, out := g.call(other, "POST", "/api/v1/assignments/"+answered+"/answer", map[string]any{"answer": map[string]string{"label": "spam"}, "duration_ms": 3000}); status != 200 {
		t.Fatalf("answer: %d %v", status, out)
	}
	status, item := g.call(rtok, "GET", "/api/v1/center/review/next", nil)
	if status != 200 || item["assignment_id"] != answered {
		t.Fatalf("review next: %d %v (want %s)", status, item, answered)
	}
	if status, out := g.call(tok, "GET", "/api/v1/center/review/next", nil); status != 403 {
		t.Fatalf("a worker reviewing: %d %v", status, out)
	}
	if status, out := g.call(rtok, "POST", "/api/v1/center/reviews", map[string]any{"assignment_id": answered, "verdict": "disagree",
		"answer": map[string]string{"label": "ok"}, "note": "a greeting, not an advert"}); status != 201 {
		t.Fatalf("review: %d %v", status, out)
	}
	if status, _ := g.call(rtok, "POST", "/api/v1/center/reviews", map[string]any{"assignment_id": answered, "verdict": "agree"}); status != 409 {
		t.Fatalf("second review of the same answer: %d", status)
	}

	// Up they go; a second round changes nothing.
	for range 2 {
		if err := g.center.Sync.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := g.center.Local.Queue(ctx)
	if q.Pending != 0 {
		rows, _ := g.center.Sync.Outbox.Pending(ctx, 10)
		for _, r := range rows {
			t.Logf("pending %s %s", r.Kind, r.Body)
		}
		t.Fatalf("records left in the outbox: %+v", q)
	}
	hub := g.hub.Store
	a, err := training.Attempt(ctx, hub, attemptID)
	if err != nil || a.State != work.AttemptPassed || a.Answered != 2 {
		t.Fatalf("the qualification on the hub: %+v %v", a, err)
	}
	skills, _ := dispatch.Skills(ctx, hub, worker.ID)
	if len(skills) != 1 || !skills[0].Qualified || skills[0].Language != "hi" {
		t.Fatalf("the worker's skills on the hub: %+v", skills)
	}
	// The verdict came back down.
	if a, err := training.Attempt(ctx, g.center.Store, attemptID); err != nil || a.State != work.AttemptPassed {
		t.Fatalf("the qualification at the center: %+v %v", a, err)
	}
	// The session went up before the span, and the hub took the span.
	days, err := ledger.WorkerEarnings(ctx, hub, worker.ID, began.Add(-24*time.Hour), began.Add(24*time.Hour))
	if err != nil || len(days) != 1 || days[0].ActiveMS != 240_000 {
		t.Fatalf("active time on the hub: %+v %v; want the four minutes of training", days, err)
	}
	if d, _, err := report.LatestDeclaration(ctx, hub, worker.ID); err != nil || d.Gender != "woman" || d.FirstJob != "yes" {
		t.Fatalf("declaration on the hub: %+v %v", d, err)
	}
	rv, _ := review.AnswerReviews(ctx, hub, answered)
	if len(rv) != 1 || rv[0].ReviewerID != reviewer.ID || rv[0].Verdict != "disagree" || rv[0].Answer == nil || rv[0].Answer.Label != "ok" {
		t.Fatalf("reviews on the hub: %+v", rv)
	}
	evs, _ := audit.List(ctx, hub, g.center.ID, store.Page{Limit: 100})
	if len(evs) != 3 {
		t.Fatalf("audit events on the hub: %d, want 3 (two workers and a reviewer added)", len(evs))
	}
	if status, _ := g.call(tok, "GET", "/api/v1/courses", nil); status != http.StatusOK {
		t.Fatalf("courses at the center: %d", status)
	}
}

// A skill with a qualification is offered at the center only to workers
// the hub has qualified; the verdict on an attempt made at the center
// opens the work after the next sync.
func TestQualificationGatesCenterWork(t *testing.T) {
	t.Parallel()
	g := newRig(t, 2)
	ctx := context.Background()
	qual := g.course("spam test", work.Qualification, "en", "spam", "ok")
	_, tok, _ := g.center.EnrolWorker(ctx, "pooja")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("an unqualified worker was offered a task: %d", status)
	}
	g.takeCourse(tok, qual.ID, "spam", "ok")
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("offered a task before the hub scored the qualification: %d", status)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if status, off := g.call(tok, "POST", "/api/v1/work/next", nil); status != 200 {
		t.Fatalf("a qualified worker got no task: %d %v", status, off)
	}
}

// A worker who withdraws consent at a center has their declarations
// erased there, from the center's outbox, and at the hub.
func TestDeclarationWithdrawnEverywhere(t *testing.T) {
	t.Parallel()
	g := newRig(t, 1)
	ctx := context.Background()
	worker, tok, _ := g.center.EnrolWorker(ctx, "sunita")
	if status, out := g.call(tok, "PUT", "/api/v1/me/declaration", map[string]any{"gender": "woman", "disability": "yes"}); status != 200 {
		t.Fatalf("declaration: %d %v", status, out)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := report.LatestDeclaration(ctx, g.hub.Store, worker.ID); err != nil {
		t.Fatalf("the hub did not get the declaration: %v", err)
	}
	// A second declaration, not yet sent, then the withdrawal.
	g.call(tok, "PUT", "/api/v1/me/declaration", map[string]any{"gender": "woman"})
	if status, out := g.call(tok, "DELETE", "/api/v1/me/declaration", nil); status != 200 || out["erased"] != float64(2) {
		t.Fatalf("withdraw: %d %v", status, out)
	}
	if _, _, err := report.LatestDeclaration(ctx, g.center.Store, worker.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the center still has a declaration: %v", err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := report.LatestDeclaration(ctx, g.hub.Store, worker.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the hub still has a declaration after the withdrawal: %v", err)
	}
	if n, err := g.center.Sync.Outbox.CountWith(ctx, "disability"); err != nil || n != 0 {
		t.Errorf("%d outbox records still hold what was declared (%v)", n, err)
	}
}

// Training time declared at a center, inside the course session the
// center recorded, is paid at the hub's hourly rate once it goes up, and
// once only: sent again, it overlaps itself and is refused.
func TestCenterTrainingPaid(t *testing.T) {
	t.Parallel()
	g := newRig(t, 1)
	ctx := context.Background()
	course := g.course("spam basics", work.Training, "en", "spam", "ok", "spam")
	worker, tok, _ := g.center.EnrolWorker(ctx, "sunita")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// Twenty-four minutes in the course: an answer every eight.
	began := g.now()
	g.takeCourseSlowly(tok, course.ID, 4*time.Minute, "spam", "spam", "spam")
	span := map[string]any{"started_at": began.UTC().Format(time.RFC3339Nano), "active_ms": 24 * 60 * 1000, "what": "training"}
	if status, out := g.call(tok, "POST", "/api/v1/me/activity", span); status != 201 {
		t.Fatalf("activity: %d %v", status, out)
	}
	if status, out := g.call(tok, "POST", "/api/v1/me/activity", span); status != 422 {
		t.Fatalf("the same span again: %d %v", status, out)
	}
	for range 2 {
		if err := g.center.Sync.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	today := g.now().UTC()
	s, err := ledger.MakeStatement(ctx, g.hub.Store, worker.ID, today.AddDate(0, 0, -1), today, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Twenty-four minutes at the default ₹50.00 an hour.
	if s.Earned != 2000 {
		t.Fatalf("earned %d paise for 24 minutes of training, want 2000", s.Earned)
	}
}

// A center revoked by the hub (a stolen PC) can no longer sync.
func TestRevokedCenterStopsSyncing(t *testing.T) {
	t.Parallel()
	g := newRig(t, 1)
	ctx := context.Background()
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := g.hub.Auth.RevokeCenterTokens(ctx, g.center.ID); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if err := g.center.Sync.Once(ctx); err == nil {
		t.Fatal("a revoked center synced")
	}
	if st := g.center.Sync.State(); st.Online || st.LastError == "" {
		t.Errorf("the center's state after revocation: %+v", st)
	}
}

// Once a leased task's answers are all acknowledged and the lease is
// done, the center keeps none of the client's data for it.
func TestCenterPurgesDeliveredTasks(t *testing.T) {
	t.Parallel()
	g := newRig(t, 2)
	ctx := context.Background()
	_, tok1, _ := g.center.EnrolWorker(ctx, "lakshmi")
	_, tok2, _ := g.center.EnrolWorker(ctx, "ravi")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := g.center.Local.PayloadsKept(ctx); n != 2 {
		t.Fatalf("%d tasks held before the work, want 2", n)
	}
	g.work(tok1, "spam")
	g.work(tok2, "spam")
	for range 3 {
		if err := g.center.Sync.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := g.center.Local.PayloadsKept(ctx); err != nil || n != 0 {
		t.Errorf("%d delivered tasks still hold the client's data (%v)", n, err)
	}
	if n, _ := g.center.Sync.Outbox.CountWith(ctx, `"label"`); n != 0 {
		t.Errorf("%d acknowledged answers still in the outbox", n)
	}
	g.check()
}
