package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"banyan/internal/work"
)

// A center gives back a grant its workers cannot take a place of, once
// the answers it has are acknowledged, and keeps one they still can.
func TestCenterGivesBackWhatNobodyCanTake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "center.db"), Options{Migrate: true, Outbox: true, Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	center := newOrg(t, s, "center", "village").ID
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := CenterProject{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	full := CenterGrant{LeaseID: work.NewID(), TaskKey: "k1", ProjectID: proj.ID, Epoch: 1, Slots: 3, Payload: []byte(`{"text":"x"}`), TTL: time.Hour}
	open := CenterGrant{LeaseID: work.NewID(), TaskKey: "k2", ProjectID: proj.ID, Epoch: 1, Slots: 3, Payload: []byte(`{"text":"y"}`), TTL: time.Hour}
	if err := s.SaveGrants(ctx, []CenterProject{proj}, []CenterGrant{full, open}); err != nil {
		t.Fatal(err)
	}
	var workers []string
	for i := range 2 {
		workers = append(workers, newUser(t, s, center, fmt.Sprint("w", i), "worker").ID)
	}
	// Both workers answer the first grant's task; nobody answers the second.
	for _, w := range workers {
		o, err := s.CenterClaim(ctx, w, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CenterSave(ctx, o.WorkID, w, work.Answer{Label: "a"}, 3000); err != nil {
			t.Fatal(err)
		}
	}
	active := func() []string {
		ids, err := s.ActiveGrants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if err := s.DropGrants(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := active(); len(got) != 2 {
		t.Fatalf("before the hub acknowledged the answers: %d active grants, want both kept", len(got))
	}
	rows, err := s.PendingOutboxAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	acks := map[string][2]string{}
	for _, r := range rows {
		acks[r.ID] = [2]string{"accepted", ""}
	}
	if err := s.AckOutbox(ctx, acks); err != nil {
		t.Fatal(err)
	}
	if err := s.DropGrants(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := active(); len(got) != 1 || got[0] != open.LeaseID {
		t.Fatalf("after the acknowledgement: active grants %v, want only %s (the one the workers can still take)", got, open.LeaseID)
	}
}
