package center_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/dispatch"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// localStore is a village center's local store on the test's engine and
// clock, with one center organisation.
func localStore(t testing.TB, clk *storetest.Clock) (*center.Local, *auth.Service, string) {
	t.Helper()
	opt := store.Options{Outbox: uplink.AppendOutbox}
	if clk != nil {
		opt.Now = clk.Now
	}
	st := storetest.Open(t, opt)
	people := &auth.Service{Store: st}
	org, err := people.CreateOrg(context.Background(), "center", "Melur")
	if err != nil {
		t.Fatal(err)
	}
	return &center.Local{Store: st}, people, org.ID
}

// leased is n grants of classify tasks of one project, each with slots
// places, as the hub grants them.
func leased(n, slots int) []wire.Grant {
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := wire.Project{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	grants := make([]wire.Grant, n)
	for i := range grants {
		grants[i] = wire.Grant{LeaseID: work.NewID(), TaskKey: fmt.Sprint("k", i), Project: proj, Epoch: 1, Slots: slots,
			Payload: []byte(`{"text":"x"}`)}
	}
	return grants
}

func newWorker(t testing.TB, people *auth.Service, org, name string) string {
	t.Helper()
	u, err := people.CreateUser(context.Background(), org, name, "worker")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// A center gives back a grant its workers cannot take a place of, once
// the answers it has are acknowledged, and keeps one they still can.
func TestCenterGivesBackWhatNobodyCanTake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, people, org := localStore(t, nil)
	grants := leased(2, 3)
	open := grants[1]
	if err := l.SaveGrants(ctx, time.Hour, grants); err != nil {
		t.Fatal(err)
	}
	var workers []string
	for i := range 2 {
		workers = append(workers, newWorker(t, people, org, fmt.Sprint("w", i)))
	}
	// Both workers answer the first grant's task; nobody answers the second.
	for _, w := range workers {
		o, err := l.Claim(ctx, w, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Save(ctx, o.WorkID, w, work.Answer{Label: "a"}, 3000); err != nil {
			t.Fatal(err)
		}
	}
	active := func() []string {
		ids, err := l.ActiveGrants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if err := l.DropGrants(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := active(); len(got) != 2 {
		t.Fatalf("before the hub acknowledged the answers: %d active grants, want both kept", len(got))
	}
	outbox := &uplink.Outbox{Store: l.Store}
	rows, err := outbox.PendingAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	acks := map[string][2]string{}
	for _, r := range rows {
		acks[r.ID] = [2]string{"accepted", ""}
	}
	if err := outbox.Ack(ctx, acks); err != nil {
		t.Fatal(err)
	}
	if err := l.DropGrants(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := active(); len(got) != 1 || got[0] != open.LeaseID {
		t.Fatalf("after the acknowledgement: active grants %v, want only %s (the one the workers can still take)", got, open.LeaseID)
	}
}

// uploadedAnswer reads the answer record the center queued for the hub.
func uploadedAnswer(t *testing.T, l *center.Local, workID string) wire.Answer {
	t.Helper()
	var body string
	if err := l.Store.Read(context.Background()).QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE id = ?`, workID).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var a wire.Answer
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// A center measures each answer's working time by its own clock, from its
// offer to the save, at most the hold the offer was made for; the time it
// was down does not count; what the worker's client says is kept aside.
func TestCenterMeasuresWorkTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		took      time.Duration // from the offer to the save
		downFor   time.Duration // the center is down this long after the offer, then restarts
		wantMS    float64
		reportsMS int64
	}{
		{name: "as measured", took: 42 * time.Second, wantMS: 42000, reportsMS: 600000},
		{name: "at most the hold", took: 25 * time.Minute, wantMS: 600000, reportsMS: 1},
		{name: "a power cut is not work", downFor: 3 * time.Hour, took: 30 * time.Second, wantMS: 30000, reportsMS: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			l, people, org := localStore(t, clk)
			if err := l.SaveGrants(ctx, 72*time.Hour, leased(1, 2)); err != nil {
				t.Fatal(err)
			}
			worker := newWorker(t, people, org, "asha")
			o, err := l.Claim(ctx, worker, "", 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if tc.downFor > 0 {
				clk.Add(tc.downFor)
				if err := l.RestartWorkClocks(ctx); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(tc.took)
			if _, err := l.Save(ctx, o.WorkID, worker, work.Answer{Label: "a"}, tc.reportsMS); err != nil {
				t.Fatal(err)
			}
			up := uploadedAnswer(t, l, o.WorkID)
			if up.DurationMS != int64(tc.wantMS) || up.ReportedMS != tc.reportsMS {
				t.Fatalf("uploaded duration_ms %v, reported_ms %v; want %v and %v", up.DurationMS, up.ReportedMS, tc.wantMS, tc.reportsMS)
			}
			started := up.StartedAt
			if want := clk.Now().Add(-tc.took); tc.took < 10*time.Minute && !started.Equal(want) {
				t.Fatalf("started_at %v, want %v", started, want)
			}
		})
	}
}

// BenchmarkLocalClaimSave is a center worker's loop at a center holding
// 5,000 leased tasks: take the next task, save the answer.
func BenchmarkLocalClaimSave(b *testing.B) {
	ctx := context.Background()
	l, people, org := localStore(b, nil)
	const leasedTasks = 5000
	slots := b.N/leasedTasks + 2
	if err := l.SaveGrants(ctx, 72*time.Hour, leased(leasedTasks, slots)); err != nil {
		b.Fatal(err)
	}
	var workers []string
	for i := range slots {
		workers = append(workers, newWorker(b, people, org, fmt.Sprint("w", i)))
	}
	b.ResetTimer()
	for i := range b.N {
		w := workers[i/leasedTasks]
		o, err := l.Claim(ctx, w, "", time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Save(ctx, o.WorkID, w, work.Answer{Label: "a"}, 3000); err != nil {
			b.Fatal(err)
		}
	}
}

// The center's local store is the center's dispatch.Desk, as
// dispatch.Service is the hub's: it offers leased work (of one project
// when asked), serves a task's files while it is in hand, takes a pass,
// validates an answer against its project's schema and saves it with its
// outbox record, measuring the time from its own offer.
func TestLocalIsTheCentersDesk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	l, people, org := localStore(t, clk)
	l.Hold = 5 * time.Minute
	nudged := 0
	l.Nudge = func() { nudged++ }
	var desk dispatch.Desk = l

	plain := leased(1, 1)[0]
	scans := leased(1, 2)[0]
	scans.TaskKey = "scan"
	scans.Project.ID = work.NewID()
	scans.Project.Schema, _ = work.DecodeSchema(work.Classify, []byte(`{"inputs":["scan"],"labels":["a","b"],"files":["scan"]}`))
	sum := fmt.Sprintf("%064x", 1)
	scans.Files = []wire.File{{Field: "scan", Name: "page1.png", SHA256: sum, Size: 3, MediaType: "image/png"}}
	if err := l.SaveGrants(ctx, time.Hour, []wire.Grant{plain, scans}); err != nil {
		t.Fatal(err)
	}
	if err := l.AddBlob(ctx, sum, 3); err != nil {
		t.Fatal(err)
	}
	asha, ravi := newWorker(t, people, org, "asha"), newWorker(t, people, org, "ravi")

	o, err := desk.Next(ctx, asha, scans.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.ProjectID != scans.Project.ID || o.Kind != work.Classify || len(o.Schema.Files) != 1 || string(o.Payload) != `{"text":"x"}` ||
		!o.ExpiresAt.Equal(clk.Now().Add(l.Hold)) || len(o.Files) != 1 || o.Files[0].Name != "page1.png" {
		t.Fatalf("offer of the project asked for: %+v", o)
	}
	if again, err := desk.Next(ctx, asha, ""); err != nil || again.WorkID != o.WorkID {
		t.Fatalf("next with work in hand: %s (%v), want the work in hand %s", again.WorkID, err, o.WorkID)
	}
	if f, err := desk.File(ctx, asha, o.WorkID, "scan"); err != nil || f.SHA256 != sum {
		t.Fatalf("file of the work in hand: %+v, %v", f, err)
	}
	for _, tc := range []struct{ name, worker, field string }{
		{"another worker's", ravi, "scan"},
		{"a field with no file", asha, "text"},
	} {
		if _, err := desk.File(ctx, tc.worker, o.WorkID, tc.field); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("file, %s: %v, want store.ErrNotFound", tc.name, err)
		}
	}

	// The other project's task, passed: not offered to the worker again.
	other, err := desk.Next(ctx, asha, plain.Project.ID)
	if err != nil || other.ProjectID != plain.Project.ID {
		t.Fatalf("offer of the other project: %+v, %v", other, err)
	}
	if err := desk.Pass(ctx, asha, other.WorkID); err != nil {
		t.Fatal(err)
	}
	if err := desk.Pass(ctx, asha, other.WorkID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("passing twice: %v, want store.ErrNotFound", err)
	}
	if _, err := desk.Next(ctx, asha, plain.Project.ID); !errors.Is(err, dispatch.ErrNoWork) {
		t.Fatalf("after the pass: %v, want dispatch.ErrNoWork", err)
	}

	clk.Add(40 * time.Second)
	answer := func(worker, raw string) (dispatch.AnswerStatus, error) {
		return desk.Answer(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: worker, Answer: json.RawMessage(raw), ReportedMS: 7000})
	}
	var ae *work.AnswerError
	if _, err := answer(asha, `{"label":"c"}`); !errors.As(err, &ae) {
		t.Fatalf("an answer outside the schema: %v, want a *work.AnswerError", err)
	}
	if _, err := answer(ravi, `{"label":"a"}`); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another worker's answer: %v, want store.ErrNotFound", err)
	}
	if nudged != 0 {
		t.Fatalf("the syncer was nudged %d times before anything was saved", nudged)
	}
	if st, err := answer(asha, `{"label":"a"}`); err != nil || st != dispatch.AnswerAccepted || nudged != 1 {
		t.Fatalf("the answer: %q, %v, nudged %d; want accepted, nudged once", st, err, nudged)
	}
	if up := uploadedAnswer(t, l, o.WorkID); up.DurationMS != 40000 || up.ReportedMS != 7000 {
		t.Fatalf("uploaded duration_ms %v, reported_ms %v; want the center's 40000 and the device's 7000", up.DurationMS, up.ReportedMS)
	}
	if st, err := answer(asha, `{"label":"a"}`); err != nil || st != dispatch.AnswerDuplicate {
		t.Fatalf("the same answer again: %q, %v; want duplicate", st, err)
	}
	if _, err := answer(asha, `{"label":"b"}`); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a different answer: %v, want store.ErrConflict", err)
	}
	if _, err := desk.File(ctx, asha, o.WorkID, "scan"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("file of answered work: %v, want store.ErrNotFound", err)
	}
}
