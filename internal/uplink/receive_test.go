package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// testHub is a hub's receiver on a store of its own, by a clock that
// stands still, with one center.
func testHub(t *testing.T) (*Hub, auth.Org) {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	people := &auth.Service{Store: st}
	center, err := people.CreateOrg(context.Background(), auth.OrgCenter, "village")
	if err != nil {
		t.Fatal(err)
	}
	return &Hub{Store: st, Auth: people, Dispatch: &dispatch.Service{Store: st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, center
}

// record is an item of kind with body, under id.
func record(id string, seq int64, kind string, body any) wire.Item {
	b, _ := json.Marshal(body)
	return wire.Item{ID: id, Seq: seq, Kind: kind, Body: b}
}

// Each record is stored once, by its id: sent again, it is a duplicate of
// what it was first answered, refusals included, and nothing runs twice.
// Retry is not an answer: a record answered retry is taken when it comes
// again and can be.
func TestReceiversStoreOnce(t *testing.T) {
	t.Parallel()
	h, center := testHub(t)
	ctx := context.Background()
	other, err := h.Auth.CreateOrg(ctx, auth.OrgCenter, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := h.Auth.CreateUser(ctx, other.ID, "ravi", "worker")
	if err != nil {
		t.Fatal(err)
	}
	worker := work.NewID()
	enrol := record(work.NewID(), 1, wire.KindEnrolment, wire.Enrolment{WorkerID: worker, Name: "meena"})
	withdraw := record(work.NewID(), 2, wire.KindWithdrawal, wire.Withdrawal{WorkerID: worker})
	steps := []struct {
		name       string
		item       wire.Item
		want, says string
	}{
		{"a withdrawal before its worker's enrolment", withdraw, wire.StatusRetry, "not enrolled yet"},
		{"the enrolment", enrol, wire.StatusAccepted, ""},
		{"the enrolment again", enrol, wire.StatusDuplicate, "first answered accepted"},
		{"the withdrawal again", withdraw, wire.StatusAccepted, ""},
		{"the withdrawal a third time", withdraw, wire.StatusDuplicate, "first answered accepted"},
		{"another organisation's worker", record(work.NewID(), 3, wire.KindWithdrawal, wire.Withdrawal{WorkerID: stranger.ID}), wire.StatusRejected, "another organisation"},
		{"a malformed body", record(work.NewID(), 4, wire.KindEnrolment, map[string]any{"name": "x"}), wire.StatusRejected, "needs worker_id"},
		{"an unknown kind", record(work.NewID(), 5, "selfie", map[string]any{}), wire.StatusRejected, strings.Join(Kinds, ", ")},
	}
	for _, s := range steps {
		v, err := h.item(ctx, center, s.item, 0)
		if err != nil || v.Status != s.want || !strings.Contains(v.Reason, s.says) {
			t.Fatalf("%s: %+v, %v; want %s saying %q", s.name, v, err, s.want, s.says)
		}
		if s.want != wire.StatusRejected {
			continue
		}
		again, err := h.item(ctx, center, s.item, 0)
		if err != nil || again.Status != wire.StatusDuplicate || again.Reason != "first answered rejected" {
			t.Fatalf("%s, sent again: %+v, %v; want a duplicate of the refusal", s.name, again, err)
		}
	}
	if _, err := h.Auth.User(ctx, worker); err != nil {
		t.Fatalf("the enrolled worker: %v", err)
	}
}

// finalState is what a delivery leaves on the hub: every stored answer id,
// and each task's result and the answers it rests on.
func finalState(t *testing.T, st *store.Store, p work.Project) string {
	t.Helper()
	ctx := context.Background()
	rows, _ := st.Read(ctx).QueryContext(ctx, `SELECT id FROM assignments WHERE state = 'submitted' ORDER BY id`)
	ids, _ := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	res, _ := project.Results(ctx, st, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 1000})
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
				h, c := testHub(t)
				ctx := context.Background()
				client, err := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
				if err != nil {
					t.Fatal(err)
				}
				schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
				p, err := project.CreateProject(ctx, h.Store, work.Project{ClientID: client.ID, Name: "p", Kind: work.Classify, Schema: schema,
					Overlap: 2, MaxOverlap: 2, AssignmentSeconds: 60})
				if err != nil {
					t.Fatal(err)
				}
				_, err = project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
					for i := range 6 {
						if !yield(project.NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"text":"item %d"}`, i))}, nil) {
							return
						}
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				leases, err := h.Dispatch.GrantLeases(ctx, dispatch.LeaseRequest{CenterID: c.ID, Want: 12, TTL: time.Hour})
				if err != nil || len(leases) != 6 {
					t.Fatalf("grant: %d, %v", len(leases), err)
				}
				// Ids are derived from the seed so both rounds make the same
				// records.
				id := func(parts ...any) string {
					g := rand.New(rand.NewPCG(seed, uint64(len(fmt.Sprint(parts...)))*7919+uint64(parts[len(parts)-1].(int))))
					b := make([]byte, 16)
					for i := range b {
						b[i] = byte(g.IntN(256))
					}
					b[6], b[8] = b[6]&0x0f|0x70, b[8]&0x3f|0x80
					return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
				}
				workers := []string{id("worker", 1), id("worker", 2), id("worker", 3)}
				var ops []wire.Item
				for i, w := range workers {
					ops = append(ops, record(id("enrol", i), int64(i), wire.KindEnrolment, wire.Enrolment{WorkerID: w, Name: "w-" + w[:8]}))
				}
				for li, l := range leases {
					for k := range 2 {
						w := workers[(li+k)%3]
						ops = append(ops, record(id("answer", li*2+k+100), int64(10+li*2+k), wire.KindAnswer, wire.Answer{LeaseID: l.ID, Epoch: l.Epoch,
							WorkerID: w, Answer: json.RawMessage(`{"label":"a"}`), DurationMS: 1000}))
					}
				}
				deliver := func(it wire.Item) string {
					v, err := h.item(ctx, c, it, 0)
					if err != nil {
						t.Fatal(err)
					}
					return v.Status
				}
				if round == 0 {
					for _, it := range ops {
						if st := deliver(it); st != wire.StatusAccepted {
							t.Fatalf("in order: %s", st)
						}
					}
					want = finalState(t, h.Store, p)
					continue
				}
				// Chunks of 1–4 records, shuffled, some sent twice; items
				// answered "retry" go again until none is left.
				var chunks [][]wire.Item
				for i := 0; i < len(ops); {
					n := min(len(ops)-i, 1+rng.IntN(4))
					chunks = append(chunks, ops[i:i+n])
					i += n
				}
				for range len(chunks) / 2 {
					chunks = append(chunks, chunks[rng.IntN(len(chunks))])
				}
				rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
				var pending []wire.Item
				for _, ch := range chunks {
					pending = append(pending, ch...)
				}
				for pass := 0; len(pending) > 0; pass++ {
					if pass > 20 {
						t.Fatalf("items still answered retry after 20 passes")
					}
					var again []wire.Item
					for _, it := range pending {
						switch deliver(it) {
						case wire.StatusRetry:
							again = append(again, it)
						case wire.StatusRejected:
							t.Fatalf("an item was rejected after a reorder")
						}
					}
					rng.Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
					pending = again
				}
				if got := finalState(t, h.Store, p); got != want {
					t.Fatalf("shuffled and replayed:\n%s\nin order:\n%s", got, want)
				}
			}
		})
	}
}
