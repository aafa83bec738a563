package center_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/sim"
	"banyan/internal/work"
)

// BenchmarkUplinkCatchUp: a center has saved 10,000 answers while offline;
// its link comes back at 64 kbit/s with an 800 ms round trip. It reports
// the bytes the link carried per answer beside zstd of the bare records,
// and how the catch-up time compares with the link's bandwidth bound.
//
//	go test -run '^$' -bench UplinkCatchUp -benchtime 1x ./internal/center/
func BenchmarkUplinkCatchUp(b *testing.B) {
	for _, chunk := range []int{200, 1000} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			for range b.N {
				catchUp(b, chunk)
			}
		})
	}
}

func catchUp(b *testing.B, chunk int) {
	const answers = 10_000
	g := newRigShifted(b, answers/2, 0)
	ctx := context.Background()
	g.center.Config.Ahead, g.center.Config.Horizon = answers/4, 1000*time.Hour
	var ids []string
	for i := range 4 {
		u, _, err := g.center.EnrolWorker(ctx, fmt.Sprintf("w%d", i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		b.Fatal(err)
	}
	// Offline: the four workers answer everything leased.
	g.link.Set(sim.LinkConfig{Down: true})
	saved := 0
	for _, w := range ids {
		for {
			o, err := g.center.Local.Claim(ctx, w, "", time.Hour)
			if err != nil {
				break
			}
			if _, err := g.center.Local.Save(ctx, o.WorkID, w, work.Answer{Label: []string{"ok", "spam"}[saved%2]}, 4000+int64(saved%997)); err != nil {
				b.Fatal(err)
			}
			saved++
		}
	}
	if saved != answers {
		b.Fatalf("saved %d answers offline, want %d", saved, answers)
	}
	rows, err := g.center.Sync.Outbox.Pending(ctx, answers+10)
	if err != nil {
		b.Fatal(err)
	}
	// The bare records, compressed as one stream: the floor to compare with.
	var bare bytes.Buffer
	for _, r := range rows {
		if r.Kind == "answer" {
			line, _ := json.Marshal(map[string]any{"id": r.ID, "body": r.Body})
			bare.Write(line)
			bare.WriteByte('\n')
		}
	}
	enc, _ := zstd.NewWriter(nil)
	bareZ := len(enc.EncodeAll(bare.Bytes(), nil))

	g.link.Set(sim.LinkConfig{BytesPerSecond: 8000, Latency: 400 * time.Millisecond})
	g.center.Sync.Chunk = chunk
	g.center.Sync.Client.HTTP.Timeout = 5 * time.Minute
	up0, down0 := g.link.Bytes()
	b.ResetTimer()
	start := time.Now()
	if err := g.center.Sync.Upload(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	up, down := g.link.Bytes()
	up, down = up-up0, down-down0
	q, _ := g.center.Local.Queue(ctx)
	if q.Pending != 0 {
		b.Fatalf("%d records still pending", q.Pending)
	}
	bound := float64(up) / 8000
	b.ReportMetric(float64(up)/answers, "wire-up-B/answer")
	b.ReportMetric(float64(down)/answers, "wire-down-B/answer")
	b.ReportMetric(float64(bareZ)/answers, "zstd-bare-B/answer")
	b.ReportMetric(float64(up)/float64(bareZ), "wire/bare")
	b.ReportMetric(took.Seconds(), "catch-up-s")
	b.ReportMetric(bound/took.Seconds(), "of-link-rate")
}
