package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// auditFixture is one task of a project sampled for review at rate 1,
// with a rate card, leased to a center whose people answered it.
type auditFixture struct {
	s      *tstore
	clk    *storetest.Clock
	p      work.Project
	center testOrg
	// people are the center's, in the order of the roles given.
	people []string
	task   string
}

// sampledAtCenter makes an auditFixture: a center with people of roles,
// of whom those at answeredBy answer the leased task "a", which settles
// it and draws it for review. withFile gives the task an attachment.
func sampledAtCenter(t *testing.T, roles []string, withFile bool, answeredBy ...int) *auditFixture {
	t.Helper()
	s, clk := newStore(t)
	ctx := context.Background()
	f := &auditFixture{s: s, clk: clk}
	f.p = qualityProject(t, s, "audited", 2, 3, work.Quality{ReviewRate: 1})
	if _, err := s.Exec(ctx, `INSERT INTO rate_cards (project_id, currency, client_price, worker_pay, center_share, gst_bps,
			approve_after_seconds, overturn_seconds, gold_bonus, updated_at) VALUES (?, 'INR', 500, 300, 0, 0, 0, 0, 0, ?)`,
		f.p.ID, store.TimeText(clk.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, f.p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	f.center = newOrg(t, s, "center", "village")
	for i, role := range roles {
		f.people = append(f.people, newUser(t, s, f.center.ID, fmt.Sprintf("%s-%d", role, i), role).ID)
	}
	leases, err := s.GrantLeases(ctx, LeaseRequest{CenterID: f.center.ID, Want: 2, TTL: 72 * time.Hour})
	if err != nil || len(leases) != 1 {
		t.Fatalf("grant: %d leases, %v", len(leases), err)
	}
	l := leases[0]
	f.task = l.TaskID
	if withFile {
		sum := strings.Repeat("ab", 32)
		if _, err := s.Exec(ctx, `INSERT INTO blobs (sha256, size, media_type, created_at) VALUES (?, 3, 'audio/ogg', ?)`, sum, store.TimeText(clk.Now())); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(ctx, `INSERT INTO task_files (task_id, field, name, sha256) VALUES (?, 'audio', 'a.ogg', ?)`, f.task, sum); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range answeredBy {
		in := CenterAnswer{Submission: Submission{WorkID: work.NewID(), WorkerID: f.people[who], Answer: labelAnswer("a")},
			CenterID: f.center.ID, LeaseID: l.ID, Epoch: l.Epoch, DurationMS: 4000, SampleDraw: 0}
		if v, _, err := s.receive(in, majority(f.p)); err != nil || v.Status != wire.StatusAccepted {
			t.Fatalf("answer of %s: %+v %v", roles[who], v, err)
		}
	}
	return f
}

// verdict runs ReceiveAuditVerdict in a transaction of its own, as uplink
// runs it inside an upload's.
func (f *auditFixture) verdict(in CenterAuditVerdict) (wire.Verdict, error) {
	var v wire.Verdict
	err := f.s.Write(context.Background(), func(tx *store.Tx) (err error) {
		v, err = f.s.ReceiveAuditVerdict(context.Background(), tx, in)
		return err
	})
	return v, err
}

// audit is the one audit of the fixture's task: its id and state, or
// empty strings when none was sent.
func (f *auditFixture) audit(t *testing.T) (id, state string) {
	t.Helper()
	f.s.queryRow(`SELECT id, state FROM center_audits WHERE task_id = ?`, f.task).Scan(&id, &state)
	return id, state
}

// A task drawn for review goes to the center that held its lease when
// the center has a reviewer who did not answer it, with the item and the
// center's people who answered it, never the answers; then no hub
// reviewer settles it. Otherwise it stays in the hub's review queue.
func TestSampledTaskGoesToItsCentersReviewer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		roles      []string
		answeredBy []int
		withFile   bool
		toCenter   bool
	}{
		{"a reviewer at the center", []string{"worker", "worker", "reviewer"}, []int{0, 1}, false, true},
		{"no reviewer at the center", []string{"worker", "worker", "center_manager"}, []int{0, 1}, false, false},
		{"the center's only reviewer answered it", []string{"worker", "worker", "reviewer"}, []int{0, 2}, false, false},
		{"a task with an attachment", []string{"worker", "worker", "reviewer"}, []int{0, 1}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := sampledAtCenter(t, tc.roles, tc.withFile, tc.answeredBy...)
			ctx := context.Background()
			queue, err := f.s.ReviewQueue(ctx, f.p.ID, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			id, state := f.audit(t)
			events := feedKinds(t, f.s, f.center.ID)[FeedKindAuditTask]
			if !tc.toCenter {
				if len(queue) != 1 || queue[0].ReviewReason != ReviewSample || id != "" || len(events) != 0 {
					t.Fatalf("queue %+v, audit %q, events %d; want the task in the hub's queue and nothing sent", queue, id, len(events))
				}
				return
			}
			if len(queue) != 0 || state != AuditSent || len(events) != 1 {
				t.Fatalf("queue %+v, audit %q %s, events %d; want one audit sent and the hub's queue empty", queue, id, state, len(events))
			}
			var ev FeedAuditTask
			if err := json.Unmarshal(events[0], &ev); err != nil {
				t.Fatal(err)
			}
			answered := []string{f.people[tc.answeredBy[0]], f.people[tc.answeredBy[1]]}
			slices.Sort(answered)
			if ev.AuditID != id || ev.TaskKey != TaskKey(f.center.ID, f.task) || string(ev.Payload) != `{"text":"item 0"}` ||
				ev.Project.ID != f.p.ID || !slices.Equal(ev.Exclude, answered) || ev.DueInSeconds != int64(DefaultAuditTimeout/time.Second) {
				t.Fatalf("the audit sent: %+v", ev)
			}
			if strings.Contains(string(events[0]), `"label"`) {
				t.Fatalf("the audit carries an answer: %s", events[0])
			}
			hubReviewer := newUser(t, f.s, auth.HubOrgID, "rita", "reviewer")
			if err := f.s.ResolveAnswer(ctx, f.task, hubReviewer.ID, work.Answer{Label: "a"}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a hub reviewer's verdict on a task out at a center: %v, want a conflict", err)
			}
			snap, err := f.s.AuditSnapshot(ctx, f.s.Read(ctx), f.center.ID)
			if err != nil || len(snap) != 1 || snap[0].AuditID != id {
				t.Fatalf("the center's snapshot: %+v %v", snap, err)
			}
			f.clk.Add(time.Hour)
			if snap, _ := f.s.AuditSnapshot(ctx, f.s.Read(ctx), f.center.ID); snap[0].DueInSeconds != int64((DefaultAuditTimeout-time.Hour)/time.Second) {
				t.Fatalf("time left in a snapshot an hour on: %ds", snap[0].DueInSeconds)
			}
		})
	}
}

// A center reviewer's verdict is checked on receipt; the one that stands
// settles the task as a hub reviewer's would: the result, the workers'
// skills and pay, and an audit for the batch's accuracy.
func TestReceiveAuditVerdict(t *testing.T) {
	t.Parallel()
	f := sampledAtCenter(t, []string{"worker", "worker", "reviewer", "reviewer"}, false, 0, 2)
	auditID, _ := f.audit(t)
	worker, answerer, reviewer := f.people[1], f.people[2], f.people[3]
	other := newOrg(t, f.s, "center", "elsewhere")
	good := CenterAuditVerdict{CenterID: f.center.ID, AuditID: auditID, ReviewerID: reviewer, Answer: labelAnswer("b")}
	with := func(edit func(*CenterAuditVerdict)) CenterAuditVerdict {
		in := good
		in.ID = work.NewID()
		edit(&in)
		return in
	}
	steps := []struct {
		name       string
		in         CenterAuditVerdict
		want, says string
	}{
		{"from another center", with(func(in *CenterAuditVerdict) { in.CenterID = other.ID }), wire.StatusRejected, "not sent to this center"},
		{"of an unknown audit", with(func(in *CenterAuditVerdict) { in.AuditID = work.NewID() }), wire.StatusRejected, "not sent to this center"},
		{"by someone not enrolled yet", with(func(in *CenterAuditVerdict) { in.ReviewerID = work.NewID() }), wire.StatusRetry, "not enrolled yet"},
		{"by a worker", with(func(in *CenterAuditVerdict) { in.ReviewerID = worker }), wire.StatusRejected, "is a worker"},
		{"by a reviewer who answered the task", with(func(in *CenterAuditVerdict) { in.ReviewerID = answerer }), wire.StatusRejected, "answered the audited task"},
		{"with an answer the project refuses", with(func(in *CenterAuditVerdict) { in.Answer = labelAnswer("z") }), wire.StatusRejected, "answer:"},
		{"the reviewer's", with(func(*CenterAuditVerdict) {}), wire.StatusAccepted, ""},
		{"a second verdict", with(func(*CenterAuditVerdict) {}), wire.StatusRejected, "has a verdict already"},
	}
	for _, st := range steps {
		v, err := f.verdict(st.in)
		if err != nil || v.Status != st.want || !strings.Contains(v.Reason, st.says) {
			t.Fatalf("%s: %+v %v; want %s saying %q", st.name, v, err, st.want, st.says)
		}
	}
	var result, source, by string
	f.s.queryRow(`SELECT answer, source, reviewer_id FROM results WHERE task_id = ?`, f.task).Scan(&result, &source, &by)
	if result != `{"label":"b"}` || source != work.SourceReview || by != reviewer {
		t.Fatalf("the result: %s from %s by %s; want b from the reviewer", result, source, by)
	}
	var audits, agreed int
	f.s.queryRow(`SELECT count(*), coalesce(sum(agreed), 0) FROM audits WHERE task_id = ?`, f.task).Scan(&audits, &agreed)
	if audits != 1 || agreed != 0 {
		t.Fatalf("audits of the task: %d, agreed %d; want one that disagrees", audits, agreed)
	}
	for _, w := range []string{f.people[0], answerer} {
		var scored, paid int
		var beta float64
		f.s.queryRow(`SELECT scored, beta FROM worker_skills WHERE worker_id = ?`, w).Scan(&scored, &beta)
		f.s.queryRow(`SELECT count(*) FROM money_events WHERE kind = 'pay' AND worker_id = ?`, w).Scan(&paid)
		if scored != 1 || beta != 2 || paid != 1 {
			t.Fatalf("worker %s: %d scored, beta %v, %d paid; want one wrong answer scored and paid", w, scored, beta, paid)
		}
	}
	if _, state := f.audit(t); state != AuditDecided {
		t.Fatalf("the audit: %s, want decided", state)
	}
}

// An audit with no verdict by its due time, or whose task no longer waits
// for review, is taken back into the hub's queue; the center hears why,
// and a verdict after is refused.
func TestRecallAudits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		after  func(f *auditFixture)
		reason string
	}{
		{"no verdict in time", func(f *auditFixture) { f.clk.Add(DefaultAuditTimeout) }, "no verdict within 48h0m0s"},
		{"the batch cancelled", func(f *auditFixture) {
			var batch string
			f.s.queryRow(`SELECT batch_id FROM tasks WHERE id = ?`, f.task).Scan(&batch)
			if _, err := f.s.CancelBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}, "the task is failed now"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := sampledAtCenter(t, []string{"worker", "worker", "reviewer"}, false, 0, 1)
			ctx := context.Background()
			f.clk.Add(DefaultAuditTimeout - time.Minute)
			if n, err := f.s.RecallAudits(ctx); err != nil || n != 0 {
				t.Fatalf("recalled before the time: %d %v", n, err)
			}
			tc.after(f)
			if n, err := f.s.RecallAudits(ctx); err != nil || n != 1 {
				t.Fatalf("recalled: %d %v, want 1", n, err)
			}
			auditID, state := f.audit(t)
			events := feedKinds(t, f.s, f.center.ID)[FeedKindAuditRecall]
			var ev FeedAuditRecall
			if len(events) != 1 || json.Unmarshal(events[0], &ev) != nil || ev.AuditID != auditID || ev.Reason != tc.reason || state != AuditRecalled {
				t.Fatalf("the recall: %s, events %s; want one saying %q", state, events, tc.reason)
			}
			v, err := f.verdict(CenterAuditVerdict{ID: work.NewID(), CenterID: f.center.ID, AuditID: auditID, ReviewerID: f.people[2], Answer: labelAnswer("a")})
			if err != nil || v.Status != wire.StatusRejected || !strings.Contains(v.Reason, "taken back") || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("a verdict after the recall: %+v %v", v, err)
			}
			if n, _ := f.s.RecallAudits(ctx); n != 0 {
				t.Fatalf("recalled twice: %d", n)
			}
		})
	}
}
