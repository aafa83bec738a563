package store

import (
	"context"
	"testing"

	"banyan/internal/work"
)

// fixture makes a client with a classify project. Projects are the
// project package's, which a test inside this package cannot import; the
// row is inserted as it is.
func fixture(t *testing.T, s *Store, overlap, maxOverlap int) work.Project {
	t.Helper()
	c := newOrg(t, s, "client", "client "+t.Name())
	return newProject(t, s, c.ID, `{"inputs":["text"],"labels":["a","b","c"]}`, overlap, maxOverlap)
}

// newProject adds a classify project of a client with a schema.
func newProject(t testing.TB, s *Store, clientID, schema string, overlap, maxOverlap int) work.Project {
	t.Helper()
	id := work.NewID()
	if _, err := s.w.Exec(`INSERT INTO projects (id, client_id, name, kind, schema, instructions,
			overlap, max_overlap, assignment_seconds, language, method, confidence_target, gold_ratio,
			min_accuracy, min_gold, min_answer_ms, review_rate, created_at)
		VALUES (?, ?, 'p', ?, ?, '', ?, ?, 60, '', '', 0, 0, 0, 0, 0, 0, ?)`,
		id, clientID, string(work.Classify), schema, overlap, maxOverlap, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	return work.Project{ID: id, ClientID: clientID, Name: "p", Kind: work.Classify, Overlap: overlap, MaxOverlap: maxOverlap,
		AssignmentSeconds: 60}
}

// Organisations are auth's, which a test inside this package cannot
// import; newOrg inserts the row a test needs as it is.

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
