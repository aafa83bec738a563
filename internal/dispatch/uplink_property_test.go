package dispatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// finalState is what a delivery leaves on the hub: every stored answer id,
// and each task's result and the answers it rests on.
func finalState(t *testing.T, s *tstore, p work.Project) string {
	t.Helper()
	rows, _ := s.query(`SELECT id FROM assignments WHERE state = 'submitted' ORDER BY id`)
	ids, _ := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	res, _ := project.Results(context.Background(), s.Store, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 1000})
	var out []string
	for _, r := range res {
		out = append(out, fmt.Sprintf("%s=%s/%d", r.ExternalID, r.Answer.Label, r.Answers))
	}
	sort.Strings(out)
	return fmt.Sprint(ids, out)
}

// Random reorders and replays of upload chunks leave the hub in the same
// state as an orderly upload: every answer stored once, the same results.
func TestUploadOrderAndReplaysDoNotMatter(t *testing.T) {
	t.Parallel()
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			var want string
			for round := range 2 { // round 0 in order, round 1 shuffled
				s, _ := newStore(t)
				ctx := context.Background()
				p := fixture(t, s, 2, 2)
				if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(6)); err != nil {
					t.Fatal(err)
				}
				c := newOrg(t, s, "center", "c")
				leases, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 12, TTL: time.Hour})
				if err != nil || len(leases) != 6 {
					t.Fatalf("grant: %d, %v", len(leases), err)
				}
				// Ids are derived from the seed so both rounds make the same
				// records.
				id := func(parts ...any) string {
					h := rand.New(rand.NewPCG(seed, uint64(len(fmt.Sprint(parts...)))*7919+uint64(parts[len(parts)-1].(int))))
					b := make([]byte, 16)
					for i := range b {
						b[i] = byte(h.IntN(256))
					}
					b[6], b[8] = b[6]&0x0f|0x70, b[8]&0x3f|0x80
					return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
				}
				workers := []string{id("worker", 1), id("worker", 2), id("worker", 3)}
				type op struct {
					enrol  *store.UplinkItem
					worker string
					answer *UplinkAnswerArgs
				}
				var ops []op
				for i, w := range workers {
					it := store.UplinkItem{ID: id("enrol", i), CenterID: c.ID, Seq: int64(i), Kind: "enrolment"}
					ops = append(ops, op{enrol: &it, worker: w})
				}
				for li, l := range leases {
					for k := range 2 {
						w := workers[(li+k)%3]
						a := UplinkAnswerArgs{Project: p, Item: store.UplinkItem{ID: id("answer", li*2+k+100), CenterID: c.ID, Seq: int64(10 + li*2 + k), Kind: "answer"},
							LeaseID: l.ID, Epoch: l.Epoch, WorkerID: w, Answer: work.Answer{Label: "a"}, DurationMS: 1000, SampleDraw: 1}
						ops = append(ops, op{answer: &a})
					}
				}
				deliver := func(o op) string {
					if o.enrol != nil {
						return enrol(t, s, *o.enrol, o.worker, "w-"+o.worker[:8])
					}
					res, _, err := s.UplinkAnswer(ctx, *o.answer, majority(p))
					if err != nil {
						t.Fatal(err)
					}
					return res.Status
				}
				if round == 0 {
					for _, o := range ops {
						if st := deliver(o); st != store.UplinkAccepted {
							t.Fatalf("in order: %s", st)
						}
					}
					want = finalState(t, s, p)
					continue
				}
				// Chunks of 1–4 records, shuffled, some sent twice; items
				// answered "retry" go again until none is left.
				var chunks [][]op
				for i := 0; i < len(ops); {
					n := min(len(ops)-i, 1+rng.IntN(4))
					chunks = append(chunks, ops[i:i+n])
					i += n
				}
				for range len(chunks) / 2 {
					chunks = append(chunks, chunks[rng.IntN(len(chunks))])
				}
				rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
				var pending []op
				for _, ch := range chunks {
					pending = append(pending, ch...)
				}
				for pass := 0; len(pending) > 0; pass++ {
					if pass > 20 {
						t.Fatalf("items still answered retry after 20 passes")
					}
					var again []op
					for _, o := range pending {
						switch deliver(o) {
						case store.UplinkRetry:
							again = append(again, o)
						case store.UplinkRejected:
							t.Fatalf("an item was rejected after a reorder")
						}
					}
					rng.Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
					pending = again
				}
				if got := finalState(t, s, p); got != want {
					t.Fatalf("shuffled and replayed:\n%s\nin order:\n%s", got, want)
				}
			}
		})
	}
}
