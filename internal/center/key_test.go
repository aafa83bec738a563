package center_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/project"
	"banyan/internal/work"
)

// A center with a database key keeps working as ever, and nothing of the
// client's tasks or the workers' answers is readable in its database files.
func TestEncryptedCenter(t *testing.T) {
	t.Parallel()
	key, err := center.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	g := startHub(t)
	ctx := context.Background()
	c, _ := g.hub.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, g.hub.Store, work.Project{ClientID: c.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	g.proj = p
	if _, err := project.CreateBatch(ctx, g.hub.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for range 6 {
			if !yield(project.NewTask{Payload: []byte(`{"text":"MARKER-POST"}`)}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	var dataDir string
	g.startCenter(0, func(c *center.Config) {
		c.KeyFile, dataDir = "-", c.DataDir
		c.Key, err = center.LoadKey(*c, strings.NewReader(key+"\n"))
		if err != nil {
			t.Fatal(err)
		}
	})
	_, tok, err := g.center.EnrolWorker(ctx, "meena")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n := g.work(tok, "spam"); n == 0 {
		t.Fatal("the worker got no task at the encrypted center")
	}
	g.center.Store.Close()
	files, _ := filepath.Glob(filepath.Join(dataDir, "center.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, plain := range []string{"MARKER-POST", "meena", "SQLite format 3"} {
			if bytes.Contains(raw, []byte(plain)) {
				t.Errorf("%s holds %q in plain text", filepath.Base(f), plain)
			}
		}
	}
}

// A key file is refused on the data directory's disk and when it does not
// hold a key.
func TestKeyFileChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := center.NewKey()
	onDisk := filepath.Join(dir, "center.key")
	os.WriteFile(onDisk, []byte(key+"\n"), 0o600)
	cfg := center.DefaultConfig()
	cfg.DataDir, cfg.KeyFile = filepath.Join(dir, "data"), onDisk
	if _, err := center.LoadKey(cfg, nil); err == nil || !strings.Contains(err.Error(), "same disk") {
		t.Fatalf("a key beside the database: %v, want a refusal", err)
	}
	cfg.KeyFile = "-"
	if _, err := center.LoadKey(cfg, strings.NewReader("not a key\n")); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("a bad key: %v", err)
	}
	if got, err := center.LoadKey(cfg, strings.NewReader(key)); err != nil || len(got) != 32 {
		t.Fatalf("a good key from standard input: %d bytes, %v", len(got), err)
	}
	// A tmpfs, when the machine has one apart from the temp dir, is off
	// the disk.
	if shm, err := os.MkdirTemp("/dev/shm", "banyan-key"); err == nil {
		defer os.RemoveAll(shm)
		off := filepath.Join(shm, "center.key")
		os.WriteFile(off, []byte(key), 0o600)
		cfg.KeyFile = off
		if got, err := center.LoadKey(cfg, nil); err != nil && !strings.Contains(err.Error(), "same disk") {
			t.Fatalf("a key on a tmpfs: %v", err)
		} else if err == nil && len(got) != 32 {
			t.Fatalf("a key on a tmpfs: %d bytes", len(got))
		}
	}
}

// A center set up without a key is encrypted in place, its database and
// its cached attachments; it then starts with the key and goes on where it
// was, and its files hold nothing readable.
func TestEncryptExistingCenter(t *testing.T) {
	t.Parallel()
	g := startHub(t)
	recording := append([]byte("MARKER-RECORDING "), noise(50_000, 7)...)
	g.filesProject(recording)
	var cfg center.Config
	g.startCenter(0, func(c *center.Config) { cfg = *c })
	ctx := context.Background()
	_, tok, err := g.center.EnrolWorker(ctx, "MARKER-WORKER")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := g.center.Local.Queue(ctx)
	if before.FilesMissing != 0 || before.CacheBytes == 0 {
		t.Fatalf("before: %+v", before)
	}
	g.desk.Close()
	g.center.Close()

	key, _ := center.NewKey()
	cfg.KeyFile = "-"
	k, err := center.LoadKey(cfg, strings.NewReader(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := center.Encrypt(ctx, cfg.DataDir, k); err != nil {
		t.Fatal(err)
	}
	if err := center.Encrypt(ctx, cfg.DataDir, k); err == nil {
		t.Fatal("encrypting twice: no error")
	}
	err = filepath.WalkDir(cfg.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, plain := range []string{"MARKER-RECORDING", "MARKER-WORKER", "SQLite format 3"} {
			if bytes.Contains(raw, []byte(plain)) {
				t.Errorf("%s holds %q in plain text", path, plain)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	cfg.Key = k
	c, err := center.Open(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("start with the key: %v", err)
	}
	defer c.Close()
	if after, _ := c.Local.Queue(ctx); after != before {
		t.Fatalf("after: %+v, want %+v", after, before)
	}
	desk := httptest.NewServer(c.Handler())
	defer desk.Close()
	g.center, g.desk = c, desk
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("next after encrypting: %d", status)
	}
	url := off["task"].(map[string]any)["files"].([]any)[0].(map[string]any)["url"].(string)
	if status, data := g.get(tok, url); status != 200 || !bytes.Equal(data, recording) {
		t.Fatalf("the recording after encrypting: %d, %d bytes", status, len(data))
	}
}
