package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/work"
)

// import uploads a file and prints the batch; a bad file is refused with
// the hub's reason; export writes a project's results to a file.
func TestImportExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer func() { srv.Close(); h.Close() }()
	token, err := h.InitAdmin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "acme")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, h.Store, work.Project{ClientID: client.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("external_id,text\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "p%d,post %d\n", i, i)
	}
	good := filepath.Join(dir, "posts.csv")
	os.WriteFile(good, []byte(csv.String()), 0o600)
	out, errOut, err := run(t, "import", good, "--hub", srv.URL, "--token", token, "--project", p.ID, "--deadline", "2099-01-01T00:00:00Z")
	if err != nil {
		t.Fatalf("import: %v (%s)", err, errOut)
	}
	var b work.Batch
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Tasks != 500 || b.Name != "posts" || b.Deadline == nil {
		t.Fatalf("imported batch: %s %v", out, err)
	}
	if !strings.Contains(errOut, "uploading posts.csv") {
		t.Fatalf("no progress: %q", errOut)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("external_id,words\nx,hello\n"), 0o600)
	if _, _, err := run(t, "import", bad, "--hub", srv.URL, "--token", token, "--project", p.ID); err == nil || !strings.Contains(err.Error(), "text") {
		t.Fatalf("a file without the project's input: %v", err)
	}
	if _, _, err := run(t, "import", filepath.Join(dir, "posts.txt"), "--hub", srv.URL, "--token", token, "--project", p.ID); err == nil {
		t.Fatal("a file that is neither CSV nor JSONL was sent")
	}

	// One task answered, so the export has a result.
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "w", "worker")
	a, _, err := h.Dispatch.Claim(ctx, w.ID, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: a.ID, WorkerID: w.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 5000}); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "results.csv")
	if _, errOut, err := run(t, "export", "--hub", srv.URL, "--token", token, "--project", p.ID, "--format", "csv", "--out", dest); err != nil {
		t.Fatalf("export: %v (%s)", err, errOut)
	}
	data, err := os.ReadFile(dest)
	if err != nil || strings.Count(string(data), "\n") != 2 || !strings.Contains(string(data), "ok") {
		t.Fatalf("exported: %q %v", data, err)
	}
	if _, _, err := run(t, "export", "--hub", srv.URL, "--token", "bny_wrong", "--project", p.ID, "--out", filepath.Join(dir, "x.csv")); err == nil {
		t.Fatal("export with a bad token succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Fatal("a failed export left a file")
	}
}
