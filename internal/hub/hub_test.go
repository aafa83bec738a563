package hub

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
