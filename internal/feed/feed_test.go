package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
)

// note is an event body of the tests' own kinds.
type note struct {
	Text string `json:"text"`
}

// appendTo appends one event to a center's feed, as a domain does.
func appendTo(t *testing.T, st *store.Store, centerID, kind, text string) {
	t.Helper()
	ctx := context.Background()
	if err := st.Write(ctx, func(tx *store.Tx) error {
		return feed.Append(ctx, tx, centerID, kind, note{Text: text}, store.TimeText(st.Now()))
	}); err != nil {
		t.Fatal(err)
	}
}

// centers makes village centers named as given, and returns their ids.
func centers(t *testing.T, st *store.Store, names ...string) []string {
	t.Helper()
	var ids []string
	for _, n := range names {
		o, err := (&auth.Service{Store: st}).CreateOrg(context.Background(), auth.OrgCenter, n)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	return ids
}

func texts(t *testing.T, events []wire.FeedEvent) []string {
	t.Helper()
	var out []string
	for _, e := range events {
		var n note
		if err := json.Unmarshal(e.Body, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Kind+":"+n.Text)
	}
	return out
}

// A center reads its own events from its cursor, in order, a page at a
// time; the cursor it is given back continues where the page stopped.
func TestReadByCursor(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	ids := centers(t, st, "Melur", "Kallur")
	a, b := ids[0], ids[1]
	appendTo(t, st, a, "skill", "1")
	appendTo(t, st, b, "skill", "other center's")
	appendTo(t, st, a, "course", "2")
	appendTo(t, st, a, "recall", "3")
	var ks feed.Kinds
	events, next, reset, err := ks.Read(ctx, st, a, 1, 2)
	if err != nil || reset {
		t.Fatalf("first page: reset %v, %v", reset, err)
	}
	if got := texts(t, events); !slices.Equal(got, []string{"skill:1", "course:2"}) || next != events[1].Seq+1 {
		t.Fatalf("first page: %v, next %d; want the center's first two events, next after the second", got, next)
	}
	events, next, reset, err = ks.Read(ctx, st, a, next, 2)
	if got := texts(t, events); err != nil || reset || !slices.Equal(got, []string{"recall:3"}) || next != 5 {
		t.Fatalf("second page: %v, next %d, reset %v, %v; want the third event, next 5", got, next, reset, err)
	}
	events, again, reset, err := ks.Read(ctx, st, a, next, 2)
	if err != nil || reset || len(events) != 0 || again != next {
		t.Fatalf("caught up: %d events, next %d, reset %v, %v; want none, next %d", len(events), again, reset, err, next)
	}
}

// A center's first read, and a cursor the hub never gave (a hub restored
// from an older backup), get a snapshot: every kind's, in the order the
// kinds are listed, with the cursor to go on from.
func TestReadResetsWithASnapshot(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	a := centers(t, st, "Melur")[0]
	appendTo(t, st, a, "skill", "old")
	appendTo(t, st, a, "skill", "older")
	var asked []string
	snapshot := func(kind string, n int) func(context.Context, store.Reader, string) ([]note, error) {
		return func(_ context.Context, _ store.Reader, centerID string) ([]note, error) {
			asked = append(asked, kind+" of "+centerID)
			out := make([]note, n)
			for i := range out {
				out[i] = note{Text: string(rune('a' + i))}
			}
			return out, nil
		}
	}
	ks := feed.Kinds{
		{Name: "skill", Snapshot: feed.SnapshotOf(snapshot("skill", 2))},
		{Name: "recall"}, // nothing to snapshot
		{Name: "course", Snapshot: feed.SnapshotOf(snapshot("course", 1))},
	}
	for _, cursor := range []int64{0, 4, 1 << 40} {
		asked = nil
		events, next, reset, err := ks.Read(ctx, st, a, cursor, 100)
		if err != nil || !reset || next != 3 {
			t.Fatalf("cursor %d: next %d, reset %v, %v; want a reset, next 3", cursor, next, reset, err)
		}
		if got := texts(t, events); !slices.Equal(got, []string{"skill:a", "skill:b", "course:a"}) {
			t.Fatalf("cursor %d: snapshot %v", cursor, got)
		}
		if !slices.Equal(asked, []string{"skill of " + a, "course of " + a}) {
			t.Fatalf("cursor %d: asked %v", cursor, asked)
		}
	}
	// The cursor just past the feed's end is the hub's own: no reset.
	if _, _, reset, err := ks.Read(ctx, st, a, 3, 100); err != nil || reset {
		t.Fatalf("cursor 3: reset %v, %v", reset, err)
	}
}

// A kind's Refresh runs as a center reads its feed, before the read: what
// it appends is in the same reply, or, on a reset, behind the snapshot's
// cursor; a refresh that fails fails the read.
func TestReadRefreshesFirst(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	a := centers(t, st, "Melur")[0]
	var fail error
	n := 0
	ks := feed.Kinds{{Name: "statement",
		Refresh: func(ctx context.Context, st *store.Store, centerID string) error {
			if fail != nil {
				return fail
			}
			n++
			return st.Write(ctx, func(tx *store.Tx) error {
				return feed.Append(ctx, tx, centerID, "statement", note{Text: fmt.Sprint(n)}, store.TimeText(st.Now()))
			})
		},
		Snapshot: feed.SnapshotOf(func(context.Context, store.Reader, string) ([]note, error) {
			return []note{{Text: "now"}}, nil
		})}}
	events, next, reset, err := ks.Read(ctx, st, a, 0, 100)
	if got := texts(t, events); err != nil || !reset || !slices.Equal(got, []string{"statement:now"}) || next != 2 {
		t.Fatalf("first read: %v, next %d, reset %v, %v; want the snapshot, next past the refresh's event", got, next, reset, err)
	}
	events, next, reset, err = ks.Read(ctx, st, a, next, 100)
	if got := texts(t, events); err != nil || reset || !slices.Equal(got, []string{"statement:2"}) || next != 3 {
		t.Fatalf("second read: %v, next %d, reset %v, %v; want the refresh's event, next 3", got, next, reset, err)
	}
	fail = errors.New("ledger down")
	if _, _, _, err := ks.Read(ctx, st, a, next, 100); !errors.Is(err, fail) {
		t.Fatalf("a failed refresh: got %v, want its error", err)
	}
}

// A center applies the events of the kinds it knows, in order, and skips
// the others; a reset clears what each kind holds first; the cursor is
// kept with them, and nothing is kept when one event fails.
func TestApply(t *testing.T) {
	t.Parallel()
	clk := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	st := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox, Now: func() time.Time { return clk }})
	ctx := context.Background()
	if c, err := feed.Cursor(ctx, st); err != nil || c != 0 {
		t.Fatalf("cursor before the first read: %d %v; want 0", c, err)
	}
	var kept []string
	fail := errors.New("refused")
	apply := func(kind string) func(context.Context, *store.Tx, note, time.Time) error {
		return func(_ context.Context, _ *store.Tx, n note, now time.Time) error {
			if n.Text == "bad" {
				return fail
			}
			if !now.Equal(clk) {
				t.Errorf("%s applied at %v, want the store's clock %v", kind, now, clk)
			}
			kept = append(kept, kind+":"+n.Text)
			return nil
		}
	}
	ks := feed.Kinds{
		{Name: "skill", Apply: feed.ApplyOf(apply("skill")),
			Clear: func(context.Context, *store.Tx) error { kept = append(kept, "clear skills"); return nil }},
		{Name: "course", Apply: feed.ApplyOf(apply("course"))},
	}
	body := func(text string) json.RawMessage { b, _ := json.Marshal(note{Text: text}); return b }
	events := []wire.FeedEvent{{Seq: 7, Kind: "skill", Body: body("1")}, {Seq: 8, Kind: "hologram", Body: body("?")},
		{Seq: 9, Kind: "course", Body: body("2")}}
	if err := ks.Apply(ctx, st, events, 10, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, []string{"skill:1", "course:2"}) {
		t.Fatalf("applied %v; want the known kinds in order", kept)
	}
	if c, err := feed.Cursor(ctx, st); err != nil || c != 10 {
		t.Fatalf("cursor: %d %v; want 10", c, err)
	}
	kept = nil
	if err := ks.Apply(ctx, st, []wire.FeedEvent{{Kind: "skill", Body: body("3")}}, 12, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, []string{"clear skills", "skill:3"}) {
		t.Fatalf("a reset applied %v; want the skills cleared first", kept)
	}
	err := ks.Apply(ctx, st, []wire.FeedEvent{{Seq: 12, Kind: "course", Body: body("bad")}}, 13, false)
	if !errors.Is(err, fail) {
		t.Fatalf("a failing event: %v; want its error", err)
	}
	if c, _ := feed.Cursor(ctx, st); c != 12 {
		t.Fatalf("cursor after a failed apply: %d; want 12, as before it", c)
	}
}
