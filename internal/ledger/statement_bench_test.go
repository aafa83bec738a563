package ledger

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/uplink/wire"
)

// BenchmarkStatementFeedBytes measures what statements cost on a center's
// link: a busy worker's 28 days (300 answers and 7 hours a day) as one
// feed event, and in a feed reply as the hub sends it (JSON, zstd), alone
// and fifty together (a center of 50 workers after an outage).
func BenchmarkStatementFeedBytes(b *testing.B) {
	statement := func(worker int) FeedStatement {
		rng := rand.New(rand.NewPCG(uint64(worker), 2))
		at := time.Date(2026, 3, 28, 17, 4, 5, 123456000, time.UTC)
		var days []EarningDay
		for d := range 28 {
			day := EarningDay{Day: at.AddDate(0, 0, d-27).Format(time.DateOnly), Answers: 250 + rng.IntN(100)}
			day.Earned = int64(day.Answers)*300 + int64(rng.IntN(3))*500
			day.ActiveMS = 6*3_600_000 + rng.Int64N(2*3_600_000)
			days = append(days, day)
		}
		s := rollUp(fmt.Sprintf("0195b3c2-7d4e-7a10-9c1f-%012d", worker), at.AddDate(0, 0, -27), at, days, 5000)
		return FeedStatement{Statement: s, ComputedAt: at}
	}
	reply := func(n int) (raw, packed int) {
		var events []wire.FeedEvent
		for i := range n {
			body, err := json.Marshal(statement(i))
			if err != nil {
				b.Fatal(err)
			}
			events = append(events, wire.FeedEvent{Seq: int64(1000 + i), Kind: "statement", Body: body})
		}
		data, err := json.Marshal(wire.FeedReply{Events: events, Next: int64(1000 + n)})
		if err != nil {
			b.Fatal(err)
		}
		zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			b.Fatal(err)
		}
		defer zw.Close()
		return len(data), len(zw.EncodeAll(data, nil))
	}
	var one, oneZ, fifty, fiftyZ int
	for b.Loop() {
		one, oneZ = reply(1)
		fifty, fiftyZ = reply(50)
	}
	b.ReportMetric(float64(one), "B-json/reply-of-1")
	b.ReportMetric(float64(oneZ), "B-zstd/reply-of-1")
	b.ReportMetric(float64(fifty), "B-json/reply-of-50")
	b.ReportMetric(float64(fiftyZ), "B-zstd/reply-of-50")
}
