package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// testRubric is the rubric of the tests' respond projects: accuracy
// pass/fail, tone from 1 to 5 passing at 3.
var testRubric = work.Rubric{Criteria: []work.Criterion{
	{Name: "accuracy", Scale: work.ScalePassFail}, {Name: "tone", Scale: work.ScaleOneToFive, Min: 3}}}

var (
	passing = map[string]int{"accuracy": 1, "tone": 4}
	failing = map[string]int{"accuracy": 0, "tone": 2}
)

// rubricProject makes a respond project reviewed by testRubric, one
// writer per task, with its review share.
func rubricProject(t *testing.T, s *tstore, first int, rate float64) work.Project {
	t.Helper()
	c := newOrg(t, s, "client", "client "+t.Name())
	schema, err := work.DecodeSchema(work.Respond, []byte(`{"inputs":["question"]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := testRubric
	p, err := project.CreateProject(context.Background(), s.Store, work.Project{ClientID: c.ID, Name: "replies", Kind: work.Respond, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600,
		Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, Rubric: &r, ReviewFirst: first, ReviewRate: rate}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func questions(n int) iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"question":"Where is my refund %d?"}`, i))}, nil) {
				return
			}
		}
	}
}

// reply has the writer take their next task of p and answer it with text,
// the sampling draw being draw.
func reply(t *testing.T, s *tstore, p work.Project, writerID, text string, draw float64) (work.Assignment, SubmitOutcome) {
	t.Helper()
	a, _, err := s.Claim(context.Background(), writerID, p.ID, 1)
	if err != nil {
		t.Fatalf("claim for %s: %v", writerID, err)
	}
	out, err := s.Record(context.Background(), SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: writerID, Answer: work.Answer{Text: text},
		OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, SampleDraw: draw}, Decider(p))
	if err != nil {
		t.Fatalf("reply of %s: %v", writerID, err)
	}
	return a, out
}

// reviewReasonOf is why a task waits for review ("" if it does not).
func reviewReasonOf(t *testing.T, s *tstore, taskID string) string {
	t.Helper()
	var reason *string
	if err := s.queryRow(`SELECT review_reason FROM tasks WHERE id = ?`, taskID).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if reason == nil {
		return ""
	}
	return *reason
}

// A writer's first review_first replies in a project all wait for review;
// after them a reply goes to review when the server's draw falls under the
// review rate, and is otherwise delivered as it is. Each writer is counted
// on their own.
func TestRubricReviewShare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first int
		rate  float64
	}{
		{"defaults: first 20, then one in five", work.DefaultReviewFirst, work.DefaultRubricReviewRate},
		{"first 5, then every one", 5, 1},
		{"none reviewed", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			ctx := context.Background()
			p := rubricProject(t, s, tc.first, tc.rate)
			const replies = 60
			if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, questions(replies+1)); err != nil {
				t.Fatal(err)
			}
			ws := workers(t, s, 2)
			rng := rand.New(rand.NewPCG(2026, 11))
			sampled := 0
			for i := range replies {
				draw := rng.Float64()
				text := fmt.Sprintf("Your refund %d is on its way.", i)
				a, out := reply(t, s, p, ws[0].ID, text, draw)
				want := ""
				switch {
				case i < tc.first:
					want = ReviewNewWriter
				case draw < tc.rate:
					want = ReviewSample
					sampled++
				}
				got := reviewReasonOf(t, s, a.TaskID)
				if got != want {
					t.Fatalf("reply %d (draw %.3f): review reason %q, want %q", i+1, draw, got, want)
				}
				task, _ := project.Task(ctx, s.Store, a.TaskID)
				wantState := work.TaskDone
				if want != "" {
					wantState = work.TaskNeedsReview
				}
				if task.State != wantState || out.TaskState != wantState {
					t.Fatalf("reply %d: task %s (told %s), want %s", i+1, task.State, out.TaskState, wantState)
				}
				if wantState == work.TaskDone {
					var result, source string
					if err := s.queryRow(`SELECT answer, source FROM results WHERE task_id = ?`, a.TaskID).Scan(&result, &source); err != nil ||
						result != `{"text":"`+text+`"}` || source != work.SourceAgreement {
						t.Fatalf("reply %d delivered as %s by %s (%v); want the reply as it is", i+1, result, source, err)
					}
				}
			}
			if tc.rate > 0 && tc.rate < 1 && (sampled == 0 || sampled == replies-tc.first) {
				t.Fatalf("%d of %d later replies sampled at rate %v: the draws do not test the rate", sampled, replies-tc.first, tc.rate)
			}
			// Another writer's first reply is one of their first.
			a, _ := reply(t, s, p, ws[1].ID, "Hello.", 0.99)
			want := ""
			if tc.first > 0 {
				want = ReviewNewWriter
			}
			if got := reviewReasonOf(t, s, a.TaskID); got != want {
				t.Fatalf("a second writer's first reply: review reason %q, want %q", got, want)
			}
		})
	}
}

// A passing reply is delivered and moves its writer's skill up. A failing
// one is rejected — not paid, unless its rejection is overturned — moves
// its writer's skill down, and its task goes back to the pool for another
// writer, who is shown the reviewer's note.
func TestRubricPassDeliversFailGoesBack(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := rubricProject(t, s, 1, 0)
	if _, err := ledger.SetRateCard(ctx, s.Store, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, OverturnSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, questions(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 3)
	reviewer := newUser(t, s, auth.HubOrgID, "rita", "reviewer")
	a0, out := reply(t, s, p, ws[0].ID, "No.", 0.99)
	if out.TaskState != work.TaskNeedsReview {
		t.Fatalf("a writer's first reply: task %s, want needs_review", out.TaskState)
	}
	taskID := a0.TaskID

	// The writer does not score their own reply; the reviewer is shown it.
	if _, err := s.NextRubricReview(ctx, ws[0].ID); !errors.Is(err, ErrNoWork) {
		t.Fatalf("the writer's own reply to review: got %v, want ErrNoWork", err)
	}
	it, err := s.NextRubricReview(ctx, reviewer.ID)
	if err != nil || it.TaskID != taskID || it.Reply.Text != "No." || len(it.Rubric.Criteria) != 2 || it.Reason != ReviewNewWriter {
		t.Fatalf("next reply to review: got %+v, %v", it, err)
	}
	if _, err := s.Resolve(ctx, reviewer.ID, taskID, []byte(`{"text":"Here is your refund."}`)); !errors.Is(err, ErrScoresRequired) {
		t.Fatalf("an answer for a reply waiting for scores: got %v, want ErrScoresRequired", err)
	}
	for _, tc := range []struct {
		name   string
		scores map[string]int
		note   string
		want   string
	}{
		{"a criterion missing", map[string]int{"accuracy": 1}, "", "scores.tone: required"},
		{"out of scale", map[string]int{"accuracy": 1, "tone": 9}, "", "scores.tone: 9 is not on the 1-5 scale"},
		{"a fail without a note", failing, " ", "note: required when the reply fails"},
		{"a note too long", passing, strings.Repeat("x", work.MaxReviewNote+1), "note: at most 2000 bytes"},
	} {
		_, err := s.ResolveRubric(ctx, reviewer.ID, taskID, tc.scores, tc.note)
		if p, ok := problem.From(err); !ok || p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Detail, tc.want) {
			t.Fatalf("%s: got %v, want 422 naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := s.ResolveRubric(ctx, ws[0].ID, taskID, passing, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the writer scoring their own reply: got %v, want store.ErrConflict", err)
	}

	const note = "Say sorry and give the date the refund arrives."
	got, err := s.ResolveRubric(ctx, reviewer.ID, taskID, failing, note)
	if err != nil || got.Passed || got.State != work.TaskOpen {
		t.Fatalf("a failing reply: got %+v, %v; want failed and the task open", got, err)
	}
	var flag, approval, reason string
	s.queryRow(`SELECT flag FROM assignments WHERE id = ?`, a0.ID).Scan(&flag)
	s.queryRow(`SELECT state, reason FROM approvals WHERE assignment_id = ?`, a0.ID).Scan(&approval, &reason)
	if flag != work.FlagRejected || approval != "rejected" || !strings.Contains(reason, note) {
		t.Fatalf("the failed reply: flag %q, approval %q (%q); want rejected with the note", flag, approval, reason)
	}
	task, _ := project.Task(ctx, s.Store, taskID)
	if task.State != work.TaskOpen || task.Answers != 0 || task.Wanted != 1 {
		t.Fatalf("the task after a fail: %s with %d answers wanting %d; want open, 0, 1", task.State, task.Answers, task.Wanted)
	}
	if _, _, err := s.Claim(ctx, ws[0].ID, p.ID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed writer asks for work: got %v, want none (the task is not theirs again)", err)
	}
	o, err := s.Next(ctx, ws[1].ID, p.ID)
	if err != nil || o.ReworkNote != note {
		t.Fatalf("the next writer's offer: note %q, %v; want %q", o.ReworkNote, err, note)
	}
	const good = "Sorry for the wait: your refund arrives on 3 May."
	if _, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: o.WorkID, WorkerID: ws[1].ID, Answer: work.Answer{Text: good},
		OfferedAt: s.Now(), ExpiresAt: s.Now(), SampleDraw: 0.99}, Decider(p)); err != nil {
		t.Fatal(err)
	}
	got, err = s.ResolveRubric(ctx, reviewer.ID, taskID, passing, "")
	if err != nil || !got.Passed || got.State != work.TaskDone || got.Reply.Text != good {
		t.Fatalf("a passing reply: got %+v, %v; want passed, the task done", got, err)
	}
	var result, source string
	s.queryRow(`SELECT answer, source FROM results WHERE task_id = ?`, taskID).Scan(&result, &source)
	if result != `{"text":"`+good+`"}` || source != work.SourceReview {
		t.Fatalf("the result: %s by %s; want the passing reply, by review", result, source)
	}
	paid := func(assignmentID string) int {
		var n int
		s.queryRow(`SELECT count(*) FROM money_events WHERE kind = 'pay' AND ref = ?`, assignmentID).Scan(&n)
		return n
	}
	var charged int
	s.queryRow(`SELECT count(*) FROM money_events WHERE kind = 'delivery' AND task_id = ?`, taskID).Scan(&charged)
	if paid(o.WorkID) != 1 || paid(a0.ID) != 0 || charged != 1 {
		t.Fatalf("pay: passing reply %d, failed reply %d, charges %d; want 1, 0, 1", paid(o.WorkID), paid(a0.ID), charged)
	}
	skill := func(workerID string) WorkerSkill {
		sk, err := Skills(ctx, s.Store, workerID)
		if err != nil || len(sk) != 1 {
			t.Fatalf("skills of %s: %+v, %v", workerID, sk, err)
		}
		return sk[0]
	}
	if down, up := skill(ws[0].ID), skill(ws[1].ID); down.Scored != 1 || down.Beta != 2 || up.Scored != 1 || up.Alpha != 4 {
		t.Fatalf("skills: failed writer %+v, passing writer %+v; want one score each, 0 and 1", down, up)
	}
	// Under the approval rules, the rejection may be overturned, which
	// pays the failed reply after all.
	if _, err := ledger.OverturnRejection(ctx, s.Store, a0.ID, reviewer.ID, "the reply was right after all"); err != nil {
		t.Fatal(err)
	}
	if paid(a0.ID) != 1 {
		t.Fatalf("an overturned rejection: %d pay events, want 1", paid(a0.ID))
	}
}

// A task whose replies fail MaxReplyFailures times leaves the pool and
// waits for a reviewer to write its reply, which is delivered; no failed
// reply is paid.
func TestRubricTwoFailuresGoToAReviewer(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := rubricProject(t, s, 5, 0)
	if _, err := ledger.SetRateCard(ctx, s.Store, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, questions(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 3)
	reviewer := newUser(t, s, auth.HubOrgID, "rita", "reviewer")
	var taskID string
	var failed []string
	for i, want := range []work.TaskState{work.TaskOpen, work.TaskNeedsReview} {
		a, _ := reply(t, s, p, ws[i].ID, fmt.Sprintf("Try %d.", i), 0.99)
		taskID = a.TaskID
		failed = append(failed, a.ID)
		got, err := s.ResolveRubric(ctx, reviewer.ID, taskID, failing, "Answer the question.")
		if err != nil || got.Passed || got.State != want {
			t.Fatalf("fail %d: got %+v, %v; want the task %s", i+1, got, err, want)
		}
	}
	if got := reviewReasonOf(t, s, taskID); got != ReviewRewrite {
		t.Fatalf("after %d fails: review reason %q, want %q", MaxReplyFailures, got, ReviewRewrite)
	}
	if _, _, err := s.Claim(ctx, ws[2].ID, p.ID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a third writer asks for work: got %v, want none", err)
	}
	if _, err := s.NextRubricReview(ctx, reviewer.ID); !errors.Is(err, ErrNoWork) {
		t.Fatalf("a task to rewrite is not a reply to score: got %v, want ErrNoWork", err)
	}
	if _, err := s.ResolveRubric(ctx, reviewer.ID, taskID, passing, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("scores for a task to rewrite: got %v, want store.ErrConflict", err)
	}
	const written = "We are sorry: your refund of Rs 500 reaches your account by 3 May."
	if _, err := s.Resolve(ctx, reviewer.ID, taskID, []byte(`{"text":"`+written+`"}`)); err != nil {
		t.Fatal(err)
	}
	var result, source string
	s.queryRow(`SELECT answer, source FROM results WHERE task_id = ?`, taskID).Scan(&result, &source)
	if result != `{"text":"`+written+`"}` || source != work.SourceReview {
		t.Fatalf("the result: %s by %s; want the reviewer's reply", result, source)
	}
	for _, id := range failed {
		var n int
		s.queryRow(`SELECT count(*) FROM money_events WHERE kind = 'pay' AND ref = ?`, id).Scan(&n)
		if n != 0 {
			t.Fatalf("failed reply %s: %d pay events, want 0", id, n)
		}
	}
}

// A respond project without a rubric (one made before rubrics) settles
// replies by agreement, as it always did: no reply goes to review unless
// drawn at its review rate, and no writer's replies are counted.
func TestRespondWithoutRubricSettlesByAgreement(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	c := newOrg(t, s, "client", "client "+t.Name())
	schema, _ := work.DecodeSchema(work.Respond, []byte(`{"inputs":["question"]}`))
	p, err := project.CreateProject(ctx, s.Store, work.Project{ClientID: c.ID, Name: "old replies", Kind: work.Respond, Schema: schema,
		Overlap: 2, MaxOverlap: 2, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, questions(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	a, _ := reply(t, s, p, ws[0].ID, "Your refund is on its way.", 0.5)
	_, out := reply(t, s, p, ws[1].ID, "Your refund is on its way!", 0.5)
	var source string
	s.queryRow(`SELECT source FROM results WHERE task_id = ?`, a.TaskID).Scan(&source)
	var counted int
	s.queryRow(`SELECT count(*) FROM writer_replies`).Scan(&counted)
	if out.TaskState != work.TaskDone || source != work.SourceAgreement || counted != 0 {
		t.Fatalf("two near replies: task %s, result by %q, %d writers counted; want done by agreement, none counted", out.TaskState, source, counted)
	}
}

// A reply written at a village center and drawn for review waits for the
// hub's reviewers, who score it on the rubric: it is not sent to the
// center's reviewers as a blind audit, which has no rubric.
func TestRubricReplyFromCenterStaysAtHub(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := rubricProject(t, s, 0, 1)
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, questions(1)); err != nil {
		t.Fatal(err)
	}
	center := newOrg(t, s, "center", "village")
	writer := newUser(t, s, center.ID, "writer", "worker")
	newUser(t, s, center.ID, "reviewer", "reviewer")
	leases, err := s.GrantLeases(ctx, LeaseRequest{CenterID: center.ID, Want: 1, TTL: 72 * time.Hour})
	if err != nil || len(leases) != 1 {
		t.Fatalf("grant: %d leases, %v", len(leases), err)
	}
	in := CenterAnswer{Submission: Submission{WorkID: work.NewID(), WorkerID: writer.ID, Answer: json.RawMessage(`{"text":"Your refund is on its way."}`)},
		CenterID: center.ID, LeaseID: leases[0].ID, Epoch: leases[0].Epoch, DurationMS: 60000, SampleDraw: 0}
	if v, _, err := s.receive(in, Decider(p)); err != nil || v.Status != wire.StatusAccepted {
		t.Fatalf("the reply: %+v %v", v, err)
	}
	var audits int
	if err := s.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM center_audits`).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if reason := reviewReasonOf(t, s, leases[0].TaskID); audits != 0 || reason != ReviewSample {
		t.Fatalf("%d audits sent, review reason %q; want none sent and the reply in the hub's queue", audits, reason)
	}
}
