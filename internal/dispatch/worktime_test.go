package dispatch

import (
	"context"
	"testing"
	"time"

	"banyan/internal/project"
	"banyan/internal/work"
)

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
			if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
				t.Fatal(err)
			}
			c, ws := centerWithWorkers(t, s, "A", 1)
			ls, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 1, TTL: time.Hour})
			if err != nil || len(ls) != 1 {
				t.Fatalf("lease: %v %v", ls, err)
			}
			granted := ls[0].GrantedAt
			clk.Add(20 * time.Minute)
			var started time.Time
			if tc.started != 0 {
				started = granted.Add(tc.started)
			}
			id := work.NewID()
			if _, _, err := s.receive(CenterAnswer{Submission: Submission{WorkID: id, WorkerID: ws[0], Answer: labelAnswer("a"), ReportedMS: 7},
				CenterID: c.ID, LeaseID: ls[0].ID, Epoch: ls[0].Epoch, DurationMS: tc.centerMS, StartedAt: started, SampleDraw: 1}, majority(p)); err != nil {
				t.Fatal(err)
			}
			a, err := s.Assignment(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.DurationMS != tc.wantMS || !a.CreatedAt.Equal(granted.Add(tc.wantStarted)) {
				t.Fatalf("got %d ms from %v; want %d ms from %v", a.DurationMS, a.CreatedAt, tc.wantMS, granted.Add(tc.wantStarted))
			}
		})
	}
}
