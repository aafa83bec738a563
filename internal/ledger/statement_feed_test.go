package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/ledger"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
)

// A village center's feed carries a worker's statement when their pay,
// answers or training changed since the last one: at most one a worker
// every interval, none when it comes out the same, and only the center's
// own workers'.
func TestStatementsGoDownCoalesced(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	clk := storetest.NewClock(t0)
	f := newFixtureAt(t, 20, clk.Now)
	melur, _ := f.people.CreateOrg(ctx, auth.OrgCenter, "Melur")
	other, _ := f.people.CreateOrg(ctx, auth.OrgCenter, "Kodai")
	ravi, _ := f.people.CreateUser(ctx, melur.ID, "ravi", "worker")
	mala, _ := f.people.CreateUser(ctx, other.ID, "mala", "worker")
	asha, _ := f.people.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	const every = 15 * time.Minute
	cursors := map[string]int64{melur.ID: 1, other.ID: 1}
	// sent refreshes a center's statements and returns what its feed
	// gained: each statement's worker, pay and time.
	type sent struct {
		Worker string
		Earned int64
		At     time.Time
	}
	refresh := func(centerID string) []sent {
		t.Helper()
		if err := ledger.SendStatements(ctx, f.st, centerID, every, 5000); err != nil {
			t.Fatal(err)
		}
		events, next, reset, err := feed.Kinds{}.Read(ctx, f.st, centerID, cursors[centerID], 100)
		if err != nil || reset {
			t.Fatalf("feed: reset %v, %v", reset, err)
		}
		cursors[centerID] = next
		var out []sent
		for _, e := range events {
			var s ledger.FeedStatement
			if err := json.Unmarshal(e.Body, &s); err != nil || e.Kind != "statement" {
				t.Fatalf("event %s %s: %v", e.Kind, e.Body, err)
			}
			out = append(out, sent{s.WorkerID, s.Earned, s.ComputedAt})
		}
		return out
	}
	steps := []struct {
		name   string
		do     func()
		center string
		want   []sent
	}{
		{"nobody has worked", func() {}, melur.ID, nil},
		{"ravi paid for two answers", func() { f.work(t, ravi.ID, 2) }, melur.ID,
			[]sent{{ravi.ID, 600, t0}}},
		{"another center's worker is not this center's", func() { f.work(t, mala.ID, 1) }, melur.ID, nil},
		{"that center gets its own", func() {}, other.ID, []sent{{mala.ID, 300, t0}}},
		{"a hub worker goes to no center", func() { f.work(t, asha.ID, 1) }, melur.ID, nil},
		{"a third answer within the interval waits", func() { f.work(t, ravi.ID, 1) }, melur.ID, nil},
		{"after the interval it goes down", func() { clk.Add(every) }, melur.ID,
			[]sent{{ravi.ID, 900, t0.Add(every)}}},
		{"nothing new, nothing sent", func() { clk.Add(every) }, melur.ID, nil},
		{"a change that leaves the figures as they were sends nothing", func() {
			clk.Add(every)
			if _, err := ledger.Bonus(ctx, f.st, ravi.ID, 0, "nothing"); err != nil {
				t.Fatal(err)
			}
		}, melur.ID, nil},
	}
	for _, s := range steps {
		s.do()
		got := refresh(s.center)
		eq := func(a, b sent) bool { return a.Worker == b.Worker && a.Earned == b.Earned && a.At.Equal(b.At) }
		if !slices.EqualFunc(got, s.want, eq) {
			t.Fatalf("%s: got %+v, want %+v", s.name, got, s.want)
		}
	}
}

// One read of a center's feed computes at most 200 statements; the rest
// come with the next read.
func TestStatementsBoundedPerRead(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	melur, _ := f.people.CreateOrg(ctx, auth.OrgCenter, "Melur")
	for i := range 201 {
		w, err := f.people.CreateUser(ctx, melur.ID, fmt.Sprintf("w%03d", i), "worker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Bonus(ctx, f.st, w.ID, 100, "welcome-"+w.ID); err != nil {
			t.Fatal(err)
		}
	}
	cursor := int64(1)
	for i, want := range []int{200, 1, 0} {
		if err := ledger.SendStatements(ctx, f.st, melur.ID, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		events, next, _, err := feed.Kinds{}.Read(ctx, f.st, melur.ID, cursor, 1000)
		if err != nil || len(events) != want {
			t.Fatalf("read %d: got %d statements (%v), want %d", i+1, len(events), err, want)
		}
		cursor = next
	}
}

// A feed reset brings the current statement of every worker of the
// center, paid or not, as of the hub's clock.
func TestStatementSnapshot(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	f := newFixtureAt(t, 5, clk.Now)
	melur, _ := f.people.CreateOrg(ctx, auth.OrgCenter, "Melur")
	ravi, _ := f.people.CreateUser(ctx, melur.ID, "ravi", "worker")
	uma, _ := f.people.CreateUser(ctx, melur.ID, "uma", "worker")
	f.people.CreateUser(ctx, melur.ID, "manju", "center_manager")
	f.work(t, ravi.ID, 3)
	ks := feed.Kinds{{Name: "statement", Snapshot: feed.SnapshotOf(func(ctx context.Context, r store.Reader, centerID string) ([]ledger.FeedStatement, error) {
		return ledger.StatementSnapshot(ctx, r, centerID, clk.Now(), 5000)
	})}}
	events, _, reset, err := ks.Read(ctx, f.st, melur.ID, 0, 100)
	if err != nil || !reset {
		t.Fatalf("read from cursor 0: reset %v, %v; want a snapshot", reset, err)
	}
	got := map[string]int64{}
	for _, e := range events {
		var s ledger.FeedStatement
		if err := json.Unmarshal(e.Body, &s); err != nil || !s.ComputedAt.Equal(clk.Now()) {
			t.Fatalf("snapshot event %s: %v", e.Body, err)
		}
		got[s.WorkerID] = s.Earned
	}
	if want := (map[string]int64{ravi.ID: 900, uma.ID: 0}); !maps.Equal(got, want) {
		t.Fatalf("snapshot: got %v, want %v", got, want)
	}
}
