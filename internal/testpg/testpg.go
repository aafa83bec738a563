// Package testpg gives tests a PostgreSQL schema of their own, on the
// server BANYAN_TEST_POSTGRES_URL names. Without that variable a test
// skips, saying so; under CI=true it fails instead, since CI provides the
// server.
package testpg

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for making and dropping schemas
)

// EnvURL names the variable with the test server's URL.
const EnvURL = "BANYAN_TEST_POSTGRES_URL"

// URL returns the test server's URL, or skips (fails under CI) without it.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI needs PostgreSQL (.ci/run starts it)", EnvURL)
		}
		t.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvURL)
	}
	return u
}

// Schema makes a schema for the test, dropped when it ends, and returns a
// URL whose connections use it.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s (%s): %v", u.Redacted(), EnvURL, err)
		}
		t.Skipf("PostgreSQL at %s is not reachable (%v); set %s to a database these tests may use", u.Redacted(), err, EnvURL)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
