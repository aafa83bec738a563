package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"banyan/internal/work"
)

// centerStore is a village center's store on its own clock, holding one
// leased task with two places, and one enrolled worker.
func centerStore(t *testing.T) (*Store, *clock, string) {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	s, err := Open(ctx, filepath.Join(t.TempDir(), "center.db"), Options{Migrate: true, Outbox: true, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	center := newOrg(t, s, "center", "Melur").ID
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := CenterProject{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	grants := []CenterGrant{{LeaseID: work.NewID(), TaskKey: "k", ProjectID: proj.ID, Epoch: 1, Slots: 2,
		Payload: []byte(`{"text":"x"}`), TTL: 72 * time.Hour}}
	if err := s.SaveGrants(ctx, []CenterProject{proj}, grants); err != nil {
		t.Fatal(err)
	}
	return s, clk, newUser(t, s, center, "asha", "worker").ID
}

// uploadedAnswer reads the answer record the center queued for the hub.
func uploadedAnswer(t *testing.T, s *Store, workID string) map[string]any {
	t.Helper()
	var body string
	if err := s.r.QueryRow(`SELECT body FROM outbox WHERE id = ?`, workID).Scan(&body); err != nil {
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
			s, clk, worker := centerStore(t)
			o, err := s.CenterClaim(ctx, worker, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if tc.downFor > 0 {
				clk.add(tc.downFor)
				if err := s.RestartWorkClocks(ctx); err != nil {
					t.Fatal(err)
				}
			}
			clk.add(tc.took)
			if _, err := s.CenterSave(ctx, o.WorkID, worker, work.Answer{Label: "a"}, tc.reportsMS); err != nil {
				t.Fatal(err)
			}
			up := uploadedAnswer(t, s, o.WorkID)
			if up["duration_ms"] != tc.wantMS || up["reported_ms"] != float64(tc.reportsMS) {
				t.Fatalf("uploaded duration_ms %v, reported_ms %v; want %v and %v", up["duration_ms"], up["reported_ms"], tc.wantMS, tc.reportsMS)
			}
			started, _ := time.Parse(time.RFC3339Nano, up["started_at"].(string))
			if want := clk.now().Add(-tc.took); tc.took < 10*time.Minute && !started.Equal(want) {
				t.Fatalf("started_at %v, want %v", started, want)
			}
		})
	}
}

// The hub takes a center's measure of an answer's working time bounded by
// how long the lease has existed, and places the work where the center
// says it began if that lies inside the lease's span; the work must fit
// between there and now.
func TestHubBoundsCenterWorkTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		centerMS    int64
		started     time.Duration // after the grant; negative: before it
		wantMS      int64
		wantStarted time.Duration // after the grant
	}{
		{name: "inside the lease", centerMS: 30_000, started: 5 * time.Minute, wantMS: 30_000, wantStarted: 5 * time.Minute},
		// Begun a minute after the grant, twenty minutes ago: 19 minutes fit.
		{name: "longer than the lease has existed", centerMS: 5 * 3_600_000, started: time.Minute, wantMS: 19 * 60_000, wantStarted: time.Minute},
		{name: "begun before the grant", centerMS: 60_000, started: -time.Hour, wantMS: 60_000, wantStarted: 19 * time.Minute},
		{name: "no start given", centerMS: 60_000, wantMS: 60_000, wantStarted: 19 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clk := newStore(t)
			ctx := context.Background()
			p := fixture(t, s, 1, 1)
			if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
				t.Fatal(err)
			}
			c, ws := centerWithWorkers(t, s, "A", 1)
			ls, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 1, TTL: time.Hour})
			if err != nil || len(ls) != 1 {
				t.Fatalf("lease: %v %v", ls, err)
			}
			granted := ls[0].GrantedAt
			clk.add(20 * time.Minute)
			var started time.Time
			if tc.started != 0 {
				started = granted.Add(tc.started)
			}
			item := answerItem(c.ID, 1)
			if _, _, err := s.UplinkAnswer(ctx, UplinkAnswerArgs{Project: p, Item: item, LeaseID: ls[0].ID, Epoch: ls[0].Epoch,
				WorkerID: ws[0], Answer: work.Answer{Label: "a"}, DurationMS: tc.centerMS, StartedAt: started, ReportedMS: 7, SampleDraw: 1}, majority(p)); err != nil {
				t.Fatal(err)
			}
			a, err := s.Assignment(ctx, item.ID)
			if err != nil {
				t.Fatal(err)
			}
			if a.DurationMS != tc.wantMS || !a.CreatedAt.Equal(granted.Add(tc.wantStarted)) {
				t.Fatalf("got %d ms from %v; want %d ms from %v", a.DurationMS, a.CreatedAt, tc.wantMS, granted.Add(tc.wantStarted))
			}
		})
	}
}
