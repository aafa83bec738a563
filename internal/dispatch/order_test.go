package dispatch

import (
	"context"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// orderProject makes a classify project of the client at overlap 3, so
// three takers (a hub worker, a restricted hub worker, a center) can each
// be handed the same task.
func orderProject(t *testing.T, s *tstore, clientID, name string, priority int) work.Project {
	t.Helper()
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.CreateProject(context.Background(), s.Store, work.Project{ClientID: clientID, Name: name, Kind: work.Classify,
		Schema: schema, Overlap: 3, MaxOverlap: 3, AssignmentSeconds: 60, Priority: priority})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// upload is a batch of one task in a project of its own.
type upload struct {
	name     string
	priority int
	age      time.Duration // how long before the hand-out it was uploaded
	due      time.Duration // its deadline, from the hand-out; 0 for none
}

// takers hand out the next task three ways, and each says which batch
// it came from.
type taker struct {
	name string
	take func(t *testing.T, s *tstore) (batchID string)
}

// batchOf is the batch of a task.
func batchOf(t *testing.T, s *tstore, taskID string) string {
	t.Helper()
	var b string
	if err := s.queryRow(`SELECT batch_id FROM tasks WHERE id = ?`, taskID).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

var takers = []taker{
	{"hub worker", func(t *testing.T, s *tstore) string {
		w := newUser(t, s, auth.BuiltinCenterOrgID, "hub worker", "worker")
		_, task, err := s.Claim(context.Background(), w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		return task.BatchID
	}},
	// A worker suspended from a skill no project here needs is served
	// project by project (pickTask's restricted path).
	{"restricted hub worker", func(t *testing.T, s *tstore) string {
		w := newUser(t, s, auth.BuiltinCenterOrgID, "restricted hub worker", "worker")
		if _, err := s.exec(`INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, status, updated_at)
			VALUES (?, 'transcribe', 'ta', 1, 1, 'suspended', ?)`, w.ID, store.TimeText(s.Now())); err != nil {
			t.Fatal(err)
		}
		_, task, err := s.Claim(context.Background(), w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		return task.BatchID
	}},
	{"center's lease", func(t *testing.T, s *tstore) string {
		c, _ := centerWithWorkers(t, s, "village", 1)
		ls, err := s.GrantLeases(context.Background(), LeaseRequest{CenterID: c.ID, Want: 1, TTL: time.Hour})
		if err != nil || len(ls) != 1 {
			t.Fatalf("grant: got %d leases, %v; want 1", len(ls), err)
		}
		return batchOf(t, s, ls[0].TaskID)
	}},
}

// Work is handed out to hub workers, and leased to centers, earliest
// effective due first, then oldest, across projects: a deadline counts as
// it stands; a batch without one as due 7 days after its upload; each step
// of a project's priority as 24 hours earlier.
func TestDueFirst(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name    string
		uploads []upload // oldest first
		want    string
	}{
		{"a batch due in 30 minutes before an older one without a deadline",
			[]upload{{"older, no deadline", 0, 2 * time.Hour, 0}, {"due in 30 minutes", 0, time.Hour, 30 * time.Minute}}, "due in 30 minutes"},
		{"priority 2 due in 30 hours before priority 0 due in 20 hours",
			[]upload{{"priority 0, due in 20 hours", 0, 2 * time.Hour, 20 * time.Hour}, {"priority 2, due in 30 hours", 2, time.Hour, 30 * time.Hour}}, "priority 2, due in 30 hours"},
		{"no deadline, uploaded 8 days ago, before one due in 3 days",
			[]upload{{"due in 3 days", 0, 9 * day, 3 * day}, {"no deadline, 8 days old", 0, 8 * day, 0}}, "no deadline, 8 days old"},
		{"no deadline, uploaded 6 days ago, after one due in 12 hours",
			[]upload{{"no deadline, 6 days old", 0, 6 * day, 0}, {"due in 12 hours", 0, time.Hour, 12 * time.Hour}}, "due in 12 hours"},
		{"oldest first when due alike",
			[]upload{{"first", 0, 2 * time.Hour, 5 * time.Hour}, {"second", 0, time.Hour, 5 * time.Hour}}, "first"},
	}
	for _, tc := range tests {
		for _, tk := range takers {
			t.Run(tc.name+"/"+tk.name, func(t *testing.T) {
				t.Parallel()
				s, clock := newStore(t)
				handout := clock.Now().Add(tc.uploads[0].age)
				client := newOrg(t, s, "client", "client")
				names := map[string]string{}
				for _, u := range tc.uploads {
					clock.Set(handout.Add(-u.age))
					p := orderProject(t, s, client.ID, u.name, u.priority)
					spec := project.BatchSpec{Name: u.name, Purpose: work.PurposeWork}
					if u.due > 0 {
						d := handout.Add(u.due)
						spec.Deadline = &d
					}
					b, err := project.CreateBatch(context.Background(), s.Store, p, spec, tasksOf(1))
					if err != nil {
						t.Fatal(err)
					}
					names[b.ID] = u.name
				}
				clock.Set(handout)
				if got := names[tk.take(t, s)]; got != tc.want {
					t.Fatalf("got a task of %q, want one of %q", got, tc.want)
				}
			})
		}
	}
}

// A change of a project's priority moves its batches' tasks not yet
// handed out at once, for hub workers and centers alike; moving it back
// restores the order.
func TestPriorityChangeReorders(t *testing.T) {
	t.Parallel()
	s, clock := newStore(t)
	ctx := context.Background()
	client := newOrg(t, s, "client", "client")
	soon := orderProject(t, s, client.ID, "due in 20 hours", 0)
	later := orderProject(t, s, client.ID, "due in 30 hours", 0)
	batches := map[string]string{}
	for _, b := range []struct {
		p   work.Project
		due time.Duration
	}{{soon, 20 * time.Hour}, {later, 30 * time.Hour}} {
		d := clock.Now().Add(b.due)
		made, err := project.CreateBatch(ctx, s.Store, b.p, project.BatchSpec{Name: b.p.Name, Purpose: work.PurposeWork, Deadline: &d}, tasksOf(2))
		if err != nil {
			t.Fatal(err)
		}
		batches[made.ID] = b.p.Name
	}
	setPriority := func(p work.Project, priority int) {
		t.Helper()
		got, err := s.UpdateProject(ctx, p.ID, ProjectChange{Priority: &priority})
		if err != nil || got.Priority != priority {
			t.Fatalf("set priority %d: got %d, %v", priority, got.Priority, err)
		}
	}
	steps := []struct {
		name   string
		before func()
		want   string
	}{
		{"both at priority 0", func() {}, "due in 20 hours"},
		{"the later one at priority 2", func() { setPriority(later, 2) }, "due in 30 hours"},
		{"back to priority 0", func() { setPriority(later, 0) }, "due in 20 hours"},
	}
	for i, st := range steps {
		st.before()
		w := newUser(t, s, auth.BuiltinCenterOrgID, "w"+string(rune('a'+i)), "worker")
		_, task, err := s.Claim(ctx, w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := batches[task.BatchID]; got != st.want {
			t.Fatalf("%s: hub worker got a task of %q, want one of %q", st.name, got, st.want)
		}
		c, _ := centerWithWorkers(t, s, "village-"+string(rune('a'+i)), 1)
		ls, err := s.GrantLeases(ctx, LeaseRequest{CenterID: c.ID, Want: 1, TTL: time.Hour})
		if err != nil || len(ls) != 1 {
			t.Fatalf("%s: grant: got %d leases, %v; want 1", st.name, len(ls), err)
		}
		if got := batches[batchOf(t, s, ls[0].TaskID)]; got != st.want {
			t.Fatalf("%s: center got a task of %q, want one of %q", st.name, got, st.want)
		}
	}
}

// A hub started with another rule re-dates the batches not yet done, and
// dates those made before there was a rule (by an older version).
func TestSetDueRule(t *testing.T) {
	t.Parallel()
	s, clock := newStore(t)
	ctx := context.Background()
	client := newOrg(t, s, "client", "client")
	undated := orderProject(t, s, client.ID, "no deadline", 0)
	dated := orderProject(t, s, client.ID, "due in 2 days", 0)
	if _, err := project.CreateBatch(ctx, s.Store, undated, project.BatchSpec{Name: "no deadline", Purpose: work.PurposeWork}, tasksOf(3)); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * 24 * time.Hour)
	d := clock.Now().Add(2 * 24 * time.Hour)
	if _, err := project.CreateBatch(ctx, s.Store, dated, project.BatchSpec{Name: "due in 2 days", Purpose: work.PurposeWork, Deadline: &d}, tasksOf(3)); err != nil {
		t.Fatal(err)
	}
	first := func() string {
		t.Helper()
		w := newUser(t, s, auth.BuiltinCenterOrgID, "w"+work.NewID(), "worker")
		a, _, err := s.Claim(ctx, w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		return a.ProjectID
	}
	steps := []struct {
		name   string
		change func() (int, error)
		moved  int
		want   string
	}{
		{"the default rule: due in 5 days without a deadline", func() (int, error) { return 0, nil }, 0, dated.ID},
		{"undated work due a day after upload", func() (int, error) {
			return project.SetDueRule(ctx, s.Store, project.DueRule{Undated: 24 * time.Hour, PriorityStep: time.Hour})
		}, 1, undated.ID},
		{"the same rule again moves nothing", func() (int, error) {
			return project.SetDueRule(ctx, s.Store, project.DueRule{Undated: 24 * time.Hour, PriorityStep: time.Hour})
		}, 0, undated.ID},
		{"batches not yet dated are dated", func() (int, error) {
			if _, err := s.exec(`UPDATE batches SET due = NULL`); err != nil {
				return 0, err
			}
			if _, err := s.exec(`UPDATE tasks SET due = 0`); err != nil {
				return 0, err
			}
			return project.SetDueRule(ctx, s.Store, project.DefaultDueRule)
		}, 2, dated.ID},
	}
	for _, st := range steps {
		moved, err := st.change()
		if err != nil || moved != st.moved {
			t.Fatalf("%s: got %d batches moved, %v; want %d", st.name, moved, err, st.moved)
		}
		if got := first(); got != st.want {
			t.Fatalf("%s: got a task of project %s, want %s", st.name, got, st.want)
		}
	}
}
