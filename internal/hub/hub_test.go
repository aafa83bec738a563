package hub

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/work"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad addr", func(c *Config) { c.Addr = "8080" }, "addr"},
		{"no data dir", func(c *Config) { c.DataDir = " " }, "data"},
		{"tiny upload limit", func(c *Config) { c.MaxUploadBytes = 10 }, "max-upload-bytes"},
		{"row over upload", func(c *Config) { c.MaxUploadBytes = 2048; c.MaxRowBytes = 4096 }, "max-row-bytes"},
		{"statements every pull", func(c *Config) { c.StatementInterval = 0 }, "statement-interval"},
		{"statements once in days", func(c *Config) { c.StatementInterval = 48 * time.Hour }, "statement-interval"},
		{"undated work due too soon", func(c *Config) { c.UndatedDue = 30 * time.Minute }, "undated-due: from 1h to 8760h"},
		{"undated work due too late", func(c *Config) { c.UndatedDue = 366 * 24 * time.Hour }, "undated-due: from 1h to 8760h"},
		{"negative priority step", func(c *Config) { c.PriorityStep = -time.Hour }, "priority-step: from 0"},
		{"priority step off", func(c *Config) { c.PriorityStep = 0 }, ""},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.change(&c)
		err := c.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want error naming %q", tc.name, err, tc.want)
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: got %v %v, want 200", path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	if _, err := h.InitAdmin(context.Background(), "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.InitAdmin(context.Background(), "root2"); err == nil {
		t.Fatalf("second InitAdmin: got nil error")
	}
}

func TestNoMigrateRefusesPending(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.NoMigrate = true
	_, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("got %v, want a refusal naming pending migrations", err)
	}
}

// A hub that starts serving dates the batches by its own --undated-due and
// --priority-step before it hands any work out.
func TestServeDatesBatchesByItsRule(t *testing.T) {
	t.Parallel()
	h := openTestHub(t, func(c *Config) { c.UndatedDue, c.PriorityStep = 2*time.Hour, time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, err := h.Auth.CreateOrg(ctx, auth.OrgClient, "acme")
	if err != nil {
		t.Fatal(err)
	}
	p := classifyProject(t, h.Store, client.ID, "moderation")
	b, err := project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "no deadline", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"hello"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	dueOf := func() int64 {
		var due int64
		if err := h.Store.Read(ctx).QueryRowContext(ctx, `SELECT due FROM tasks WHERE batch_id = ?`, b.ID).Scan(&due); err != nil {
			t.Fatal(err)
		}
		return due
	}
	if got, want := dueOf(), b.CreatedAt.Add(7*24*time.Hour).Unix(); got != want {
		t.Fatalf("before serving: got due %d, want %d (the database's default rule)", got, want)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx, ln) }()
	want := b.CreatedAt.Add(2 * time.Hour).Unix()
	for end := time.Now().Add(10 * time.Second); dueOf() != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("serving: got due %d, want %d (upload time plus --undated-due)", dueOf(), want)
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: got %v, want a clean stop", err)
	}
}
