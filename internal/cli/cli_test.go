package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banyan/internal/store"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelp(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range verbs() {
		if !strings.Contains(out, v.name) {
			t.Errorf("banyan --help does not mention %q", v.name)
		}
	}
	// Every verb explains itself.
	for _, v := range verbs() {
		if v.name == "version" {
			continue
		}
		args := []string{v.name, "--help"}
		switch v.name {
		case "admin":
			args = []string{"admin", "init", "--help"}
		case "bench":
			args = []string{"bench", "aggregate", "--help"}
		case "center":
			args = []string{"center", "--help"}
		}
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Errorf("banyan %s: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(out+errOut, "Usage: banyan "+v.name) {
			t.Errorf("banyan %s printed no usage:\n%s%s", strings.Join(args, " "), out, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"fly"}, "unknown command"},
		{[]string{"serve", "--nope"}, "flag provided but not defined"},
		{[]string{"serve", "extra"}, "unexpected argument"},
		{[]string{"migrate"}, "migrate status|up"},
		{[]string{"admin"}, "admin init"},
		{[]string{"demo", "--workers", "1"}, "--workers"},
	}
	for _, tc := range tests {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != 2 {
			t.Errorf("banyan %v: got %v (exit %d), want a usage error containing %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}

// Flags win over BANYAN_* variables, which win over defaults; a bad value
// is named.
func TestConfigFromEnv(t *testing.T) {
	t.Setenv("BANYAN_ADDR", "127.0.0.1:9999")
	t.Setenv("BANYAN_MAX_ROW_BYTES", "4096")
	out, _, err := run(t, "config", "--max-row-bytes", "2048")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("config is not JSON: %v\n%s", err, out)
	}
	if cfg["addr"] != "127.0.0.1:9999" || cfg["max_row_bytes"] != 2048.0 {
		t.Fatalf("got addr %v max_row_bytes %v; want the env addr and the flag's row limit", cfg["addr"], cfg["max_row_bytes"])
	}
	if cfg["undated_due"] != "168h0m0s" || cfg["priority_step"] != "24h0m0s" {
		t.Fatalf("got undated_due %v priority_step %v; want the defaults 168h0m0s and 24h0m0s", cfg["undated_due"], cfg["priority_step"])
	}
	t.Setenv("BANYAN_UNDATED_DUE", "72h")
	if out, _, err = run(t, "config", "--priority-step", "6h"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg["undated_due"] != "72h0m0s" || cfg["priority_step"] != "6h0m0s" {
		t.Fatalf("got undated_due %v priority_step %v (%v); want the env's 72h0m0s and the flag's 6h0m0s", cfg["undated_due"], cfg["priority_step"], err)
	}
	t.Setenv("BANYAN_UNDATED_DUE", "10m")
	if _, _, err := run(t, "config"); err == nil || !strings.Contains(err.Error(), "undated-due") {
		t.Fatalf("got %v, want an error naming undated-due", err)
	}
	t.Setenv("BANYAN_UNDATED_DUE", "")
	t.Setenv("BANYAN_MAX_ROW_BYTES", "lots")
	if _, _, err := run(t, "config"); err == nil || !strings.Contains(err.Error(), "BANYAN_MAX_ROW_BYTES") {
		t.Fatalf("got %v, want an error naming BANYAN_MAX_ROW_BYTES", err)
	}
	t.Setenv("BANYAN_MAX_ROW_BYTES", "")
	if _, _, err := run(t, "config", "--addr", "nohost"); err == nil || !strings.Contains(err.Error(), "addr") {
		t.Fatalf("got %v, want an error naming addr", err)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	if got := store.RedactDSN("postgres://bob:hunter2@db:5432/x"); strings.Contains(got, "hunter2") {
		t.Fatalf("password not redacted: %s", got)
	}
	if got := store.RedactDSN("/var/lib/banyan.db"); got != "/var/lib/banyan.db" {
		t.Fatalf("path changed: %s", got)
	}
}

func TestAdminInitAndMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	out, _, err := run(t, "migrate", "status", "--data", dir, "--db", db)
	if err != nil || !strings.Contains(out, "pending: 0001_core.sql") {
		t.Fatalf("migrate status on a new database: %q, %v", out, err)
	}
	if out, _, err = run(t, "migrate", "up", "--data", dir, "--db", db); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate up: %q, %v", out, err)
	}
	out, _, err = run(t, "admin", "init", "--data", dir, "--db", db)
	if err != nil || !strings.HasPrefix(out, "bny_") {
		t.Fatalf("admin init: %q, %v", out, err)
	}
	if _, _, err = run(t, "admin", "init", "--data", dir, "--db", db); err == nil {
		t.Fatalf("second admin init: got nil error, want a refusal")
	}
}

// A small demo runs the whole loop through the API and reports the
// summary fields CI checks.
func TestDemoJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _, err := run(t, "demo", "--exit", "--json", "--posts", "120", "--invoices", "40", "--workers", "12", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		TasksTotal       int     `json:"tasks_total"`
		TasksDone        int     `json:"tasks_done"`
		Answers          int     `json:"answers"`
		Accuracy         float64 `json:"accuracy"`
		AnswersPerSecond float64 `json:"answers_per_second"`
		CenterAnswers    int     `json:"center_answers"`
		AnswersLost      int     `json:"answers_lost"`
		AnswersDup       int     `json:"answers_duplicated"`
		Projects         []struct {
			Kind     string
			Tasks    int
			Accuracy float64
		}
		Money struct {
			Receivable int64  `json:"client_receivable_paise"`
			Payable    int64  `json:"worker_payable_paise"`
			Share      int64  `json:"center_share_paise"`
			Revenue    int64  `json:"hub_revenue_paise"`
			Reconciled bool   `json:"reconciled"`
			Head       string `json:"ledger_head"`
		}
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not one JSON object: %v\n%s", err, out)
	}
	if s.TasksTotal != 160 || s.TasksDone != 160 || s.Answers < 160 || s.AnswersPerSecond <= 0 || len(s.Projects) != 2 {
		t.Fatalf("summary: %+v", s)
	}
	if s.CenterAnswers == 0 || s.AnswersLost != 0 || s.AnswersDup != 0 {
		t.Fatalf("village center: %d answers saved there, %d lost, %d duplicated; want some, none, none", s.CenterAnswers, s.AnswersLost, s.AnswersDup)
	}
	// 120 posts at ₹2.00 in each of two projects and 40 invoices at ₹12.
	if m := s.Money; !m.Reconciled || m.Receivable != 120*200*2+40*1200 || m.Payable <= 0 || m.Share <= 0 ||
		m.Receivable != m.Payable+m.Share+m.Revenue {
		t.Errorf("money: %+v", m)
	}
	vout, _, err := run(t, "ledger", "verify", "--data", dir)
	if err != nil || !strings.Contains(vout, s.Money.Head) || !strings.Contains(vout, "reconciled: true") {
		t.Errorf("ledger verify after the demo: %q, %v; want head %s", vout, err, s.Money.Head)
	}
	for _, p := range s.Projects {
		if p.Accuracy < 0.85 {
			t.Errorf("project %s: accuracy %.3f, want at least 0.85 even on this small run", p.Kind, p.Accuracy)
		}
	}
}

func TestAggregate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.csv")
	gold := filepath.Join(dir, "gold.csv")
	results := filepath.Join(dir, "results.csv")
	os.WriteFile(labels, []byte("task,worker,label\na,w1,x\na,w2,x\na,w3,y\nb,w1,y\nb,w2,y\nb,w3,y\n"), 0o644)
	os.WriteFile(gold, []byte("task,label\na,x\nb,y\nc,x\n"), 0o644)
	out, _, err := run(t, "aggregate", "--method", "mv", "--in", labels, "--gold", gold, "--out", results)
	if err != nil || !strings.Contains(out, "accuracy 1.0000 over 2 gold tasks") {
		t.Fatalf("got %q, %v", out, err)
	}
	raw, _ := os.ReadFile(results)
	if want := "task,label,confidence\na,x,0.6667\nb,y,1.0000\n"; string(raw) != want {
		t.Fatalf("results file:\n%s\nwant\n%s", raw, want)
	}
	out, _, err = run(t, "aggregate", "--in", labels)
	if err != nil || !strings.HasPrefix(out, "task,label,confidence\n") {
		t.Fatalf("results to stdout: got %q, %v", out, err)
	}
	os.WriteFile(labels, []byte("task,worker,label\na,w1,x\na,w2\n"), 0o644)
	if _, _, err = run(t, "aggregate", "--in", labels); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad file: got %v, want an error naming line 3", err)
	}
	if _, _, err = run(t, "aggregate", "--method", "bayes", "--in", labels); ExitCode(err) != 2 {
		t.Fatalf("bad method: got %v, want a usage error", err)
	}
}

// 'center keygen' prints a fresh key for --db-key-file each time.
func TestCenterKeygen(t *testing.T) {
	t.Parallel()
	a, _, err := run(t, "center", "keygen")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := run(t, "center", "keygen")
	key := strings.TrimSpace(a)
	if len(key) != 64 || strings.Trim(key, "0123456789abcdef") != "" || key == strings.TrimSpace(b) {
		t.Fatalf("keygen printed %q then %q; want two different keys of 64 hex digits", a, b)
	}
}
