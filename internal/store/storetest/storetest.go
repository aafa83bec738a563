// Package storetest opens a store for a domain package's tests on the
// engine the run asks for: a fresh SQLite file by default; with
// BANYAN_TEST_ENGINE=encrypted an encrypted one (as a center with a key
// has); with BANYAN_TEST_ENGINE=postgres and BANYAN_TEST_POSTGRES_URL set,
// a PostgreSQL schema of the test's own (package testpg). So every
// domain's SQL is tested on each engine as the store's is (.ci/run runs
// them all).
package storetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"banyan/internal/store"
	"banyan/internal/testpg"
)

// Open opens a migrated store for the test and closes it when the test
// ends; opt.Migrate is set for it.
func Open(t testing.TB, opt store.Options) *store.Store {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "test.db")
	switch os.Getenv("BANYAN_TEST_ENGINE") {
	case "postgres":
		dsn = testpg.Schema(t)
	case "encrypted":
		opt.Key = bytes.Repeat([]byte{0x5a}, store.KeySize)
	}
	opt.Migrate = true
	st, err := store.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Clock is a test's clock, moved by hand (Add); safe for concurrent use.
// Give its Now to store.Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
