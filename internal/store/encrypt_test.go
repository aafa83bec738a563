package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banyan/internal/work"
)

// A database opened with a key is unreadable on disk, opens again with
// that key, and refuses any other key or none, saying why.
func TestEncryptedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "center.db")
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := Open(ctx, path, Options{Migrate: true, Outbox: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	c := newOrg(t, s, "client", "MARKER-CLIENT-NAME")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	p, err := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema, Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(NewTask, error) bool) {
		yield(NewTask{Payload: []byte(`{"text":"MARKER-PAYLOAD"}`)}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("MARKER")) || bytes.Contains(raw, []byte("SQLite format 3")) {
			t.Fatalf("%s holds plain text", filepath.Base(f))
		}
	}

	s, err = Open(ctx, path, Options{Migrate: true, Outbox: true, Key: key})
	if err != nil {
		t.Fatalf("reopen with the key: %v", err)
	}
	var got string
	if err := s.r.QueryRow(`SELECT name FROM orgs WHERE id = ?`, c.ID).Scan(&got); err != nil || got != "MARKER-CLIENT-NAME" {
		t.Fatalf("read back: %q, %v", got, err)
	}
	s.Close()

	wrong := bytes.Repeat([]byte{8}, KeySize)
	if _, err := Open(ctx, path, Options{Key: wrong}); err == nil || !strings.Contains(err.Error(), "key is wrong") {
		t.Fatalf("another key: %v, want an error saying the key is wrong", err)
	}
	if _, err := Open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), "give its key") {
		t.Fatalf("no key: %v, want an error asking for the key", err)
	}
	if _, err := Open(ctx, path, Options{Key: key[:5]}); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("a short key: %v", err)
	}
	plain := filepath.Join(dir, "plain.db")
	ps, err := Open(ctx, plain, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	ps.Close()
	if _, err := Open(ctx, plain, Options{Key: key}); err == nil || !strings.Contains(err.Error(), "made without one") {
		t.Fatalf("a key for a plain database: %v", err)
	}
}
