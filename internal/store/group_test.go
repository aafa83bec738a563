package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Many writers at once share commits; one that fails is undone alone and
// only it hears of the failure.
func TestGroupCommitKeepsEachWriterApart(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"), Options{Migrate: true, Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE grouped (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	errFail := errors.New("this writer fails")
	const writers = 300
	start := make(chan struct{})
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for k := range writers {
		wg.Go(func() {
			<-start
			errs[k] = s.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO grouped (k, v) VALUES (?, ?)`, k, fmt.Sprint("first ", k)); err != nil {
					return err
				}
				if k%7 != 0 {
					return nil
				}
				// A failing writer wrote two rows before it failed.
				if _, err := tx.ExecContext(ctx, `INSERT INTO grouped (k, v) VALUES (?, ?)`, k+writers, "second"); err != nil {
					return err
				}
				return errFail
			})
		})
	}
	close(start)
	wg.Wait()
	for k, err := range errs {
		if k%7 == 0 && !errors.Is(err, errFail) {
			t.Errorf("writer %d: err %v, want its own failure", k, err)
		}
		if k%7 != 0 && err != nil {
			t.Errorf("writer %d: %v", k, err)
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT k FROM grouped ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := collect(rows, func(r scanner) (int, error) {
		var k int
		return k, r.Scan(&k)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, k := range kept {
		if k >= writers || k%7 == 0 {
			t.Errorf("row %d of a failed writer was kept", k)
		}
	}
	for k := range writers {
		if k%7 != 0 {
			want++
		}
	}
	if len(kept) != want {
		t.Errorf("%d rows kept, want %d", len(kept), want)
	}
}

// A writer whose context has ended before its turn writes nothing; once
// the store is closed, writes are refused.
func TestGroupCommitCancelledAndClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"), Options{Migrate: true, Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := s.tx(gone, func(*sql.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("cancelled writer: err %v, ran %v", err, ran)
	}
	s.Close()
	if err := s.tx(ctx, func(*sql.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("write after close: %v", err)
	}
}
