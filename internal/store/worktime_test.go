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
