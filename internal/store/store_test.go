package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"banyan/internal/work"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), testDSN(t), Options{Migrate: true, Now: c.now, Key: testKey()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// fixture makes a client with a classify project.
func fixture(t *testing.T, s *Store, overlap, maxOverlap int) work.Project {
	t.Helper()
	ctx := context.Background()
	c := newOrg(t, s, "client", "client "+t.Name())
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tasksOf(n int) iter.Seq2[NewTask, error] {
	return func(yield func(NewTask, error) bool) {
		for i := range n {
			if !yield(NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"text":"item %d"}`, i))}, nil) {
				return
			}
		}
	}
}

func workers(t *testing.T, s *Store, n int) []testUser {
	t.Helper()
	out := make([]testUser, n)
	for i := range out {
		out[i] = newUser(t, s, builtinCenterOrgID, fmt.Sprintf("w%03d", i), "worker")
	}
	return out
}

// Organisations and users are auth's, which a test inside this package
// cannot import; newOrg and newUser insert the rows a test needs as they
// are.

// testOrg is an organisation a test made.
type testOrg struct{ ID string }

// newOrg adds an organisation of a kind ("client", "center").
func newOrg(t testing.TB, s *Store, kind, name string) testOrg {
	t.Helper()
	o := testOrg{ID: work.NewID()}
	if _, err := s.w.Exec(`INSERT INTO orgs (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, o.ID, kind, name, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	return o
}

// testUser is a person a test made.
type testUser struct{ ID string }

// newUser adds a person with a role to an organisation.
func newUser(t testing.TB, s *Store, orgID, name, role string) testUser {
	t.Helper()
	u := testUser{ID: work.NewID()}
	if _, err := s.w.Exec(`INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`, u.ID, orgID, name, role, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMigrationsApplyOnce(t *testing.T) {
	t.Parallel()
	path := testDSN(t)
	ctx := context.Background()
	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatalf("open without Migrate on a new database: got nil error, want pending migrations")
	}
	s, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen a migrated database: %v", err)
	}
	defer s.Close()
	pending, err := s.PendingMigrations(ctx)
	if err != nil || len(pending) != 0 {
		t.Fatalf("got %d pending, %v; want none", len(pending), err)
	}
}

func TestCreateBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	failing := func(yield func(NewTask, error) bool) {
		for i := range 1000 {
			if i == 700 {
				yield(NewTask{}, errors.New("row 700 is bad"))
				return
			}
			if !yield(NewTask{Payload: []byte(`{"text":"x"}`)}, nil) {
				return
			}
		}
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "bad", Purpose: work.PurposeWork}, failing); err == nil {
		t.Fatalf("got nil error from a failing batch")
	}
	bs, _ := s.Batches(ctx, p.ID, Page{Limit: 10})
	var n int
	s.r.QueryRow(`SELECT count(*) FROM tasks`).Scan(&n)
	if len(bs) != 0 || n != 0 {
		t.Fatalf("after a failed batch: %d batches and %d tasks remain, want none", len(bs), n)
	}
}
