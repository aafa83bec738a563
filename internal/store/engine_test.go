package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"banyan/internal/testpg"
)

// The store's tests run on SQLite, and on PostgreSQL with
// BANYAN_TEST_ENGINE=postgres and BANYAN_TEST_POSTGRES_URL set (.ci/run
// runs them both ways). On PostgreSQL every test gets its own schema,
// dropped when it ends (package testpg).

const envEngine = "BANYAN_TEST_ENGINE"

// onPostgres reports whether this run's store tests use PostgreSQL.
func onPostgres() bool { return os.Getenv(envEngine) == "postgres" }

// testKey is the database key of this run's SQLite stores: with
// BANYAN_TEST_ENGINE=encrypted the suite runs on encrypted SQLite, as a
// center with a key does.
func testKey() []byte {
	if os.Getenv(envEngine) == "encrypted" {
		return bytes.Repeat([]byte{0x5a}, KeySize)
	}
	return nil
}

// testDSN returns a database for one test: a SQLite file in its temp dir,
// or a fresh PostgreSQL schema.
func testDSN(t testing.TB) string {
	t.Helper()
	if !onPostgres() {
		return filepath.Join(t.TempDir(), "test.db")
	}
	return testpg.Schema(t)
}

// PostgreSQL is reachable when the tests are told where it is.
func TestPostgresReachable(t *testing.T) {
	s, err := Open(context.Background(), testpg.Schema(t), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.d.(pgDialect); !ok {
		t.Fatalf("a postgres:// URL opened a %s store", s.d.name())
	}
	pending, err := s.PendingMigrations(context.Background())
	if err != nil || len(pending) != 0 {
		t.Fatalf("after migrating: %d pending, %v", len(pending), err)
	}
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT ? , ?`:                        `SELECT $1 , $2`,
		`WHERE a = '?' AND b = ?`:             `WHERE a = '?' AND b = $1`,
		"-- is this ?\nSELECT ?":              "-- is this ?\nSELECT $1",
		`INSERT INTO "q?" VALUES (?, ?, ?)`:   `INSERT INTO "q?" VALUES ($1, $2, $3)`,
		`SELECT 'it''s' , ?`:                  `SELECT 'it''s' , $1`,
		`SELECT coalesce(max(seq), 0) + 1, ?`: `SELECT coalesce(max(seq), 0) + 1, $1`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two hub processes on one PostgreSQL database run a background job one
// at a time.
func TestRunAloneAcrossHubs(t *testing.T) {
	dsn := testpg.Schema(t)
	ctx := context.Background()
	a, err := Open(ctx, dsn, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan bool)
	go func() {
		ran, err := a.RunAlone(ctx, "refit", func(context.Context) error {
			close(started)
			<-release
			return nil
		})
		done <- ran && err == nil
	}()
	<-started
	if ran, err := b.RunAlone(ctx, "refit", func(context.Context) error { return nil }); err != nil || ran {
		t.Fatalf("second hub ran the job while the first held it: ran=%v err=%v", ran, err)
	}
	if ran, err := b.RunAlone(ctx, "recall", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("another job was blocked: ran=%v err=%v", ran, err)
	}
	close(release)
	if !<-done {
		t.Fatal("the first hub's run failed")
	}
	if ran, err := b.RunAlone(ctx, "refit", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("after the first hub finished: ran=%v err=%v", ran, err)
	}
}

// Hubs started together on a new database migrate it once between them.
func TestHubsMigrateTogether(t *testing.T) {
	dsn := testpg.Schema(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(context.Background(), dsn, Options{Migrate: true})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
