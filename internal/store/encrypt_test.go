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
	s, err := Open(ctx, path, Options{Migrate: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	c := newOrg(t, s, "client", "MARKER-CLIENT-NAME")
	p := newProject(t, s, c.ID, `{"inputs":["text"],"labels":["a","b"]}`, 1, 1)
	b := work.NewID()
	now := ts(s.now())
	if _, err := s.w.Exec(`INSERT INTO batches (id, purpose, project_id, client_id, name, tasks, created_at) VALUES (?, ?, ?, ?, 'b', 1, ?)`,
		b, work.PurposeWork, p.ID, c.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO tasks (id, project_id, batch_id, external_id, payload, state, wanted, gold, created_at, updated_at)
		VALUES (?, ?, ?, '', ?, 'open', 1, 0, ?, ?)`, work.NewID(), p.ID, b, `{"text":"MARKER-PAYLOAD"}`, now, now); err != nil {
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

	s, err = Open(ctx, path, Options{Migrate: true, Key: key})
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
