package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"banyan/internal/work"
)

// BenchmarkCenterClaimSave is a center worker's loop at a center holding
// 5,000 leased tasks: take the next task, save the answer.
func BenchmarkCenterClaimSave(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "center.db"), Options{Migrate: true, Outbox: true, Key: testKey()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	center := newOrg(b, s, "center", "bench").ID
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := CenterProject{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	const leased = 5000
	slots := b.N/leased + 2
	grants := make([]CenterGrant, leased)
	for i := range grants {
		grants[i] = CenterGrant{LeaseID: work.NewID(), TaskKey: fmt.Sprint(i), ProjectID: proj.ID, Epoch: 1, Slots: slots,
			Payload: []byte(`{"text":"x"}`), TTL: 72 * time.Hour}
	}
	if err := s.SaveGrants(ctx, []CenterProject{proj}, grants); err != nil {
		b.Fatal(err)
	}
	var workers []string
	for i := range slots {
		workers = append(workers, newUser(b, s, center, fmt.Sprint("w", i), "worker").ID)
	}
	b.ResetTimer()
	for i := range b.N {
		w := workers[i/leased]
		o, err := s.CenterClaim(ctx, w, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CenterSave(ctx, o.WorkID, w, work.Answer{Label: "a"}, 3000); err != nil {
			b.Fatal(err)
		}
	}
}
