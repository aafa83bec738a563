package center_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/center"
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
		o, err := l.Claim(ctx, w, time.Hour)
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
func uploadedAnswer(t *testing.T, l *center.Local, workID string) map[string]any {
	t.Helper()
	var body string
	if err := l.Store.Read(context.Background()).QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE id = ?`, workID).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
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
			o, err := l.Claim(ctx, worker, 10*time.Minute)
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
			if up["duration_ms"] != tc.wantMS || up["reported_ms"] != float64(tc.reportsMS) {
				t.Fatalf("uploaded duration_ms %v, reported_ms %v; want %v and %v", up["duration_ms"], up["reported_ms"], tc.wantMS, tc.reportsMS)
			}
			started, _ := time.Parse(time.RFC3339Nano, up["started_at"].(string))
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
		o, err := l.Claim(ctx, w, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Save(ctx, o.WorkID, w, work.Answer{Label: "a"}, 3000); err != nil {
			b.Fatal(err)
		}
	}
}
