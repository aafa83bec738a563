package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/api"
	"banyan/internal/api/apitest"
	"banyan/internal/auth"
	"banyan/internal/hub"
)

// env is a running hub with one client set up the way a real one would be,
// plus a second client whose data must never show through.
type env struct {
	t      *testing.T
	url    string
	tokens map[string]string // role name → token
	ids    map[string]string // fixture name → id
	blobs  string            // the hub's blob directory
}

func (e *env) do(role, method, path string, body any, ctype string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
		ctype = "application/json"
	}
	req, err := http.NewRequest(method, e.url+e.expand(path), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tok, ok := e.tokens[role]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := replies(e.t).Check(method, e.expand(path), resp.StatusCode, resp.Header.Get("Content-Type"), raw); err != nil {
		e.t.Error(err)
	}
	return resp.StatusCode, raw
}

var (
	checkerOnce sync.Once
	checker     *apitest.Checker
	checkerErr  error
)

// replies is the checker of every reply against the OpenAPI document.
func replies(t *testing.T) *apitest.Checker {
	t.Helper()
	checkerOnce.Do(func() { checker, checkerErr = apitest.New() })
	if checkerErr != nil {
		t.Fatal(checkerErr)
	}
	return checker
}

// expand replaces {name} with fixture ids.
func (e *env) expand(path string) string {
	for k, v := range e.ids {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return path
}

func (e *env) must(role, method, path string, body any, want int) map[string]any {
	e.t.Helper()
	status, raw := e.do(role, method, path, body, "")
	if status != want {
		e.t.Fatalf("%s %s as %s: got %d %s, want %d", method, path, role, status, raw, want)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

func (e *env) user(org, name, role string) {
	e.t.Helper()
	u := e.must("admin", "POST", "/api/v1/orgs/"+org+"/users", map[string]string{"name": name, "role": role}, 201)
	tok := e.must("admin", "POST", "/api/v1/users/"+u["id"].(string)+"/tokens", nil, 201)
	e.tokens[name] = tok["token"].(string)
	e.ids["user:"+name] = u["id"].(string)
}

const modSchema = `{"name":"moderation","kind":"classify","schema":{"inputs":["text"],"labels":["ok","spam"]},"overlap":3,"max_overlap":4}`

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	token, err := h.InitAdmin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: srv.URL, blobs: filepath.Join(cfg.DataDir, "blobs"), tokens: map[string]string{"admin": token, "bogus": "bny_notatoken"}, ids: map[string]string{
		"hub": auth.HubOrgID, "center": auth.BuiltinCenterOrgID, "nope": "01900000-0000-7000-8000-000000000000"}}
	for _, c := range []string{"acme", "other"} {
		o := e.must("admin", "POST", "/api/v1/clients", map[string]string{"name": c}, 201)
		e.ids[c] = o["id"].(string)
	}
	e.user(e.ids["acme"], "client_admin", "client_admin")
	e.user(e.ids["acme"], "viewer", "client_viewer")
	e.user(e.ids["other"], "other_admin", "client_admin")
	e.user(auth.HubOrgID, "ops", "ops")
	e.user(auth.HubOrgID, "reviewer", "reviewer")
	for i := 1; i <= 4; i++ {
		e.user(auth.BuiltinCenterOrgID, fmt.Sprintf("worker%d", i), "worker")
	}
	var p map[string]any
	json.Unmarshal([]byte(modSchema), &p)
	proj := e.must("client_admin", "POST", "/api/v1/projects", p, 201)
	e.ids["proj"] = proj["id"].(string)
	p["name"] = "SECRET-OTHER-PROJECT"
	other := e.must("other_admin", "POST", "/api/v1/projects", p, 201)
	e.ids["otherproj"] = other["id"].(string)
	status, raw := e.do("client_admin", "POST", "/api/v1/projects/{proj}/batches?name=first", "text\nhello\nbuy now\nhi\n", "text/csv")
	if status != 201 {
		t.Fatalf("upload: got %d %s", status, raw)
	}
	var b map[string]any
	json.Unmarshal(raw, &b)
	e.ids["batch"] = b["id"].(string)
	status, raw = e.do("other_admin", "POST", "/api/v1/projects/{otherproj}/batches", `{"text":"SECRET-OTHER-TASK"}`, "application/jsonl")
	if status != 201 {
		t.Fatalf("upload: got %d %s", status, raw)
	}
	json.Unmarshal(raw, &b)
	e.ids["otherbatch"] = b["id"].(string)
	return e
}

// Each row calls one route as one role and checks the status and a part of
// the body. "anon" sends no token.
func TestScenarios(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, role, method, path string
		body                     any
		ctype                    string
		want                     int
		wantBody                 string
	}{
		{"no token", "anon", "GET", "/api/v1/me", nil, "", 401, "Bearer"},
		{"bad token", "bogus", "GET", "/api/v1/projects", nil, "", 401, "Unauthorized"},
		{"me", "viewer", "GET", "/api/v1/me", nil, "", 200, `"role":"client_viewer"`},
		{"unknown route", "admin", "GET", "/api/v1/nothing", nil, "", 404, "no API route"},
		{"client list as client", "client_admin", "GET", "/api/v1/clients", nil, "", 200, "acme"},
		{"client may not make clients", "client_admin", "POST", "/api/v1/clients", map[string]string{"name": "x"}, "", 403, ""},
		{"duplicate client", "admin", "POST", "/api/v1/clients", map[string]string{"name": "acme"}, "", 409, "already exists"},
		{"client name required", "admin", "POST", "/api/v1/clients", map[string]string{"name": " "}, "", 422, "name"},
		{"unknown JSON member", "admin", "POST", "/api/v1/clients", `{"name":"x","colour":"red"}`, "application/json", 400, "colour"},
		{"wrong JSON type", "admin", "POST", "/api/v1/clients", `{"name":5}`, "application/json", 400, "name"},
		{"empty JSON body", "admin", "POST", "/api/v1/clients", "", "application/json", 400, "empty"},
		{"other client is invisible", "client_admin", "GET", "/api/v1/clients/{other}", nil, "", 404, ""},
		{"own client", "viewer", "GET", "/api/v1/clients/{acme}", nil, "", 200, "acme"},
		{"ops lists centers", "ops", "GET", "/api/v1/centers", nil, "", 200, "built-in"},
		{"worker may not list centers", "worker1", "GET", "/api/v1/centers", nil, "", 403, ""},
		{"client admin adds a viewer", "client_admin", "POST", "/api/v1/orgs/{acme}/users", map[string]string{"name": "v2", "role": "client_viewer"}, "", 201, "client_viewer"},
		{"client role checked", "client_admin", "POST", "/api/v1/orgs/{acme}/users", map[string]string{"name": "v3", "role": "hub_admin"}, "", 422, "not allowed"},
		{"viewer may not add users", "viewer", "POST", "/api/v1/orgs/{acme}/users", map[string]string{"name": "v4", "role": "client_viewer"}, "", 403, ""},
		{"client may not add to other", "client_admin", "POST", "/api/v1/orgs/{other}/users", map[string]string{"name": "v5", "role": "client_viewer"}, "", 404, ""},
		{"ops may not add hub admins", "ops", "POST", "/api/v1/orgs/{hub}/users", map[string]string{"name": "a2", "role": "hub_admin"}, "", 403, ""},
		{"ops adds a worker", "ops", "POST", "/api/v1/orgs/{center}/users", map[string]string{"name": "w9", "role": "worker"}, "", 201, "worker"},
		{"client may not mint other's token", "client_admin", "POST", "/api/v1/users/{user:other_admin}/tokens", nil, "", 404, ""},
		{"project needs a client for staff", "admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "classify"}, "", 422, "client_id"},
		{"bad kind", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "draw", "schema": map[string]any{"inputs": []string{"t"}}}, "", 422, "kind"},
		{"bad schema", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "classify", "schema": map[string]any{"inputs": []string{"t"}, "labels": []string{"a"}}}, "", 422, "labels"},
		{"bad overlap", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}, "overlap": 3, "max_overlap": 2}, "", 422, "max_overlap"},
		{"viewer may not make projects", "viewer", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}}, "", 403, ""},
		{"client may not make for other", "client_admin", "POST", "/api/v1/projects", map[string]any{"client_id": "{other}", "name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}}, "", 404, ""},
		{"max_text_error defaults to 0.05", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "replies", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}}, "", 201, `"max_text_error":0.05`},
		{"max_text_error set", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "calls", "kind": "transcribe", "schema": map[string]any{"inputs": []string{"audio"}}, "max_text_error": 0.1}, "", 201, `"max_text_error":0.1`},
		{"max_text_error 0 refused", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "transcribe", "schema": map[string]any{"inputs": []string{"audio"}}, "max_text_error": 0}, "", 422, "max_text_error: must be above 0 and at most 0.5"},
		{"max_text_error over 0.5 refused", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}, "max_text_error": 0.6}, "", 422, "max_text_error: must be above 0 and at most 0.5"},
		{"max_text_error only for texts", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "classify", "schema": map[string]any{"inputs": []string{"t"}, "labels": []string{"a", "b"}}, "max_text_error": 0.1}, "", 422, "max_text_error: only transcribe and respond"},
		{"priority above 3 refused", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}, "priority": 4}, "", 422, "priority: must be from 0 (the default) to 3 (most urgent), got 4"},
		{"negative priority refused", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "x", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}, "priority": -1}, "", 422, "priority: must be from 0"},
		{"project with a priority", "client_admin", "POST", "/api/v1/projects", map[string]any{"name": "urgent", "kind": "respond", "schema": map[string]any{"inputs": []string{"t"}}, "priority": 3}, "", 201, `"priority":3`},
		{"projects list is own only", "viewer", "GET", "/api/v1/projects", nil, "", 200, "moderation"},
		{"other project invisible", "client_admin", "GET", "/api/v1/projects/{otherproj}", nil, "", 404, ""},
		{"other batch invisible", "client_admin", "GET", "/api/v1/batches/{otherbatch}", nil, "", 404, ""},
		{"other tasks invisible", "viewer", "GET", "/api/v1/batches/{otherbatch}/tasks", nil, "", 404, ""},
		{"other results invisible", "viewer", "GET", "/api/v1/batches/{otherbatch}/results", nil, "", 404, ""},
		{"nonexistent project", "admin", "GET", "/api/v1/projects/{nope}", nil, "", 404, ""},
		{"malformed id", "admin", "GET", "/api/v1/projects/xyz", nil, "", 404, ""},
		{"batch progress", "viewer", "GET", "/api/v1/batches/{batch}", nil, "", 200, `"open":3`},
		{"tasks list", "viewer", "GET", "/api/v1/batches/{batch}/tasks?limit=2", nil, "", 200, "next_cursor"},
		{"bad limit", "viewer", "GET", "/api/v1/batches/{batch}/tasks?limit=0", nil, "", 400, "limit"},
		{"bad cursor", "viewer", "GET", "/api/v1/batches/{batch}/tasks?cursor=zz", nil, "", 400, "cursor"},
		{"bad state filter", "viewer", "GET", "/api/v1/batches/{batch}/tasks?state=lost", nil, "", 400, "state"},
		{"viewer may not upload", "viewer", "POST", "/api/v1/projects/{proj}/batches", "text\na\n", "text/csv", 403, ""},
		{"unknown upload type", "client_admin", "POST", "/api/v1/projects/{proj}/batches", "text\na\n", "application/pdf", 415, "format"},
		{"client may not take tasks", "client_admin", "POST", "/api/v1/work/next", nil, "", 403, "workers"},
		{"worker may not see projects", "worker1", "GET", "/api/v1/projects/{proj}", nil, "", 404, ""},
		{"worker may not review", "worker1", "GET", "/api/v1/projects/{proj}/review", nil, "", 403, ""},
		{"reviewer sees review queue", "reviewer", "GET", "/api/v1/projects/{proj}/review", nil, "", 200, `"items":[]`},
		{"client may not resolve", "client_admin", "POST", "/api/v1/tasks/{nope}/resolve", map[string]any{"answer": map[string]string{"label": "ok"}}, "", 403, ""},
		{"resolve unknown task", "reviewer", "POST", "/api/v1/tasks/{nope}/resolve", map[string]any{"answer": map[string]string{"label": "ok"}}, "", 404, ""},
		{"answer unknown assignment", "worker1", "POST", "/api/v1/assignments/{nope}/answer", map[string]any{"answer": map[string]string{"label": "ok"}}, "", 404, ""},
		{"viewer may not change a project", "viewer", "PATCH", "/api/v1/projects/{proj}", map[string]any{"instructions": "x"}, "", 403, ""},
		{"other project unchangeable", "client_admin", "PATCH", "/api/v1/projects/{otherproj}", map[string]any{"instructions": "x"}, "", 404, ""},
		{"empty change", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{}, "", 422, "instructions"},
		{"schema is fixed", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"schema": map[string]any{}}, "", 400, "schema"},
		{"change instructions", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"instructions": "Spam sells something."}, "", 200, "Spam sells something."},
		{"bad min_answer_ms", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"min_answer_ms": -1}, "", 422, "min_answer_ms"},
		{"change priority", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"priority": 2}, "", 200, `"priority":2`},
		{"bad priority change", "client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"priority": 9}, "", 422, "priority: must be from 0 (the default) to 3 (most urgent), got 9"},
		{"viewer may not cancel", "viewer", "POST", "/api/v1/batches/{batch}/cancel", nil, "", 403, ""},
		{"other batch uncancellable", "client_admin", "POST", "/api/v1/batches/{otherbatch}/cancel", nil, "", 404, ""},
		{"cancel a batch", "other_admin", "POST", "/api/v1/batches/{otherbatch}/cancel", nil, "", 200, "cancelled_at"},
		{"cancel twice", "other_admin", "POST", "/api/v1/batches/{otherbatch}/cancel", nil, "", 409, "cancelled at"},
		{"client may not recall", "client_admin", "POST", "/api/v1/centers/{center}/recall", nil, "", 403, ""},
		{"recall from a client is not a center", "ops", "POST", "/api/v1/centers/{acme}/recall", nil, "", 404, ""},
		{"recall from a center", "ops", "POST", "/api/v1/centers/{center}/recall", map[string]any{"reason": "closing"}, "", 200, `"recalled":0`},
		{"webhook on shared address space refused", "client_admin", "POST", "/api/v1/webhooks", map[string]any{"url": "http://100.64.0.1/hook", "events": []string{"result.ready"}}, "", 422, "100.64.0.1 is in 100.64.0.0/10 (Shared Address Space, RFC 6598): webhook targets on special-purpose addresses are refused unless the hub runs with --allow-private-webhooks"},
		{"webhook on cloud metadata address refused", "client_admin", "POST", "/api/v1/webhooks", map[string]any{"url": "http://100.100.100.200/latest/meta-data/", "events": []string{"result.ready"}}, "", 422, "100.100.100.200 is in 100.64.0.0/10 (Shared Address Space, RFC 6598)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if m, ok := body.(map[string]any); ok {
				raw, _ := json.Marshal(m)
				body = []byte(e.expand(string(raw)))
				if tc.ctype == "" {
					tc.ctype = "application/json"
				}
			} else if m, ok := body.(map[string]string); ok {
				raw, _ := json.Marshal(m)
				body = raw
				tc.ctype = "application/json"
			}
			status, raw := e.do(tc.role, tc.method, tc.path, body, tc.ctype)
			if status != tc.want {
				t.Fatalf("got %d %s, want %d", status, raw, tc.want)
			}
			if !strings.Contains(string(raw), tc.wantBody) {
				t.Fatalf("got body %s, want it to contain %q", raw, tc.wantBody)
			}
			if status >= 400 && !strings.Contains(string(raw), `"status":`) {
				t.Fatalf("error body %s is not problem+json", raw)
			}
			if strings.Contains(string(raw), "SECRET-OTHER") && tc.role != "other_admin" && tc.role != "admin" && tc.role != "ops" {
				t.Fatalf("another client's data leaked: %s", raw)
			}
		})
	}
}

// A batch file with a bad row is rejected whole, names line and field, and
// leaves nothing stored.
func TestBadUploadLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var big strings.Builder
	big.WriteString("text\n")
	for range 5000 {
		big.WriteString("fine row\n")
	}
	big.WriteString("\n")
	tests := []struct {
		name, body, ctype string
		wantLine          int
		wantField         string
	}{
		{"missing value late in a big file", big.String() + ",\n", "text/csv", 0, ""},
		{"wrong column", "text,lang\na,en\nb,hi,extra\n", "text/csv", 3, ""},
		{"invalid utf-8", "text\nok\n\xff\xfe\n", "text/csv", 3, "text"},
		{"missing column", "body\nx\n", "text/csv", 1, "text"},
		{"jsonl missing field", "{\"text\":\"a\"}\n{\"lang\":\"x\"}\n", "application/jsonl", 2, "text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw := e.do("client_admin", "POST", "/api/v1/projects/{proj}/batches", tc.body, tc.ctype)
			if status != 422 {
				t.Fatalf("got %d %s, want 422", status, raw)
			}
			var p struct {
				Errors []struct {
					Line  int
					Field string
				}
			}
			json.Unmarshal(raw, &p)
			if len(p.Errors) != 1 || (tc.wantLine != 0 && (p.Errors[0].Line != tc.wantLine || p.Errors[0].Field != tc.wantField)) {
				t.Fatalf("got %s, want line %d field %q", raw, tc.wantLine, tc.wantField)
			}
		})
	}
	out := e.must("viewer", "GET", "/api/v1/projects/{proj}/batches", nil, 200)
	if items := out["items"].([]any); len(items) != 1 {
		t.Fatalf("after rejected uploads the project has %d batches, want only the first", len(items))
	}
}

func TestUploadTooLarge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.MaxUploadBytes = 2048
	cfg.MaxRowBytes = 512
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	token, _ := h.InitAdmin(ctx, "admin")
	e := &env{t: t, url: srv.URL, tokens: map[string]string{"admin": token}, ids: map[string]string{}}
	c := e.must("admin", "POST", "/api/v1/clients", map[string]string{"name": "c"}, 201)
	var p map[string]any
	json.Unmarshal([]byte(modSchema), &p)
	p["client_id"] = c["id"]
	proj := e.must("admin", "POST", "/api/v1/projects", p, 201)
	e.ids["proj"] = proj["id"].(string)
	status, raw := e.do("admin", "POST", "/api/v1/projects/{proj}/batches", "text\n"+strings.Repeat("a row\n", 1000), "text/csv")
	if status != 413 {
		t.Fatalf("got %d %s, want 413", status, raw)
	}
	status, raw = e.do("admin", "POST", "/api/v1/projects/{proj}/batches", "text\n"+strings.Repeat("x", 600)+"\n", "text/csv")
	if status != 422 || !strings.Contains(string(raw), "limit") {
		t.Fatalf("got %d %s, want 422 naming the row limit", status, raw)
	}
}

// The whole loop through the API: workers take tasks and answer, the
// tasks settle, results come out as JSONL and CSV.
func TestWorkLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A gzip upload of two more tasks.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("external_id,text\nx1,spam spam\nx2,hello\n"))
	zw.Close()
	req, _ := http.NewRequest("POST", e.url+e.expand("/api/v1/projects/{proj}/batches?name=zipped"), &gz)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+e.tokens["client_admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("gzip upload: %v %v", resp.StatusCode, err)
	}
	var zipped struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&zipped)
	resp.Body.Close()
	e.ids["zipped"] = zipped.ID

	// worker4 disagrees with everyone; the others say ok/spam by the text.
	var wg sync.WaitGroup
	for i := 1; i <= 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := fmt.Sprintf("worker%d", i)
			for {
				status, raw := e.do(w, "POST", "/api/v1/work/next", nil, "")
				if status == 204 {
					return
				}
				if status != 200 {
					t.Errorf("%s next: %d %s", w, status, raw)
					return
				}
				var off struct {
					AssignmentID string `json:"assignment_id"`
					Task         struct {
						Payload map[string]string
					}
					Project struct{ Kind string }
				}
				json.Unmarshal(raw, &off)
				if off.Project.Kind != "classify" || strings.Contains(string(raw), "external_id") {
					t.Errorf("offer %s: want kind classify and no external id", raw)
				}
				label := "ok"
				if strings.Contains(off.Task.Payload["text"], "spam") || strings.Contains(off.Task.Payload["text"], "buy") {
					label = "spam"
				}
				if i == 4 {
					label = map[string]string{"ok": "spam", "spam": "ok"}[label]
				}
				// First a bad answer, which must be refused naming the field.
				status, raw = e.do(w, "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer", map[string]any{"answer": map[string]string{"label": "maybe"}}, "")
				if status != 422 || !strings.Contains(string(raw), `"field":"label"`) {
					t.Errorf("bad answer: got %d %s, want 422 naming label", status, raw)
				}
				status, raw = e.do(w, "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer", map[string]any{"answer": map[string]string{"label": label}, "duration_ms": 900}, "")
				if status != 200 {
					t.Errorf("answer: %d %s", status, raw)
				}
				// A retry of the same answer is harmless.
				status, raw = e.do(w, "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer", map[string]any{"answer": map[string]string{"label": label}, "duration_ms": 900}, "")
				if status != 200 || !strings.Contains(string(raw), "duplicate") {
					t.Errorf("retry: got %d %s, want duplicate", status, raw)
				}
			}
		}()
	}
	wg.Wait()
	for _, b := range []string{"batch", "zipped"} {
		out := e.must("viewer", "GET", "/api/v1/batches/{"+b+"}", nil, 200)
		pg := out["progress"].(map[string]any)
		if pg["done"].(float64) != out["tasks"].(float64) || out["completed_at"] == nil {
			t.Fatalf("batch %s: got %v, want every task done and completed_at set", b, out)
		}
	}
	status, raw := e.do("viewer", "GET", "/api/v1/projects/{proj}/results?format=csv", nil, "")
	if status != 200 {
		t.Fatalf("CSV results: %d %s", status, raw)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("CSV results: got %d rows, %v; want header + 5", len(rows), err)
	}
	if strings.Join(rows[0], ",") != "task_id,external_id,batch_id,label,confidence,answers,source" {
		t.Fatalf("CSV header: %v", rows[0])
	}
	labels := map[string]int{}
	for _, r := range rows[1:] {
		labels[r[3]]++
		if r[1] == "x1" && r[3] != "spam" {
			t.Fatalf("x1: got %s, want spam", r[3])
		}
	}
	if labels["spam"] != 2 || labels["ok"] != 3 {
		t.Fatalf("got labels %v, want 2 spam and 3 ok", labels)
	}
	status, raw = e.do("viewer", "GET", "/api/v1/batches/{zipped}/results", nil, "")
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if status != 200 || len(lines) != 2 || !strings.Contains(lines[0], `"external_id":"x1"`) {
		t.Fatalf("JSONL results: got %d %s", status, raw)
	}
}

// An answer's working time is the hub's measure from its offer: one posted
// at once that claims a minute of work is too fast for a 20-second floor.
func TestReportedDurationIsNotTrusted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must("client_admin", "PATCH", "/api/v1/projects/{proj}", map[string]any{"min_answer_ms": 20000}, 200)
	off := e.must("worker1", "POST", "/api/v1/work/next", nil, 200)
	out := e.must("worker1", "POST", "/api/v1/assignments/"+off["assignment_id"].(string)+"/answer",
		map[string]any{"answer": map[string]string{"label": "ok"}, "duration_ms": 60000}, 200)
	if out["status"] != "too_fast" {
		t.Fatalf("an answer posted at once, reported as a minute: got %v, want too_fast", out)
	}
}

// Declared time is checked where it is received: task time is never
// declared, and a training span that ends in the future, or lies in no
// course session the hub recorded, is refused — however often it is sent —
// and pays nothing.
func TestDeclaredTimeIsChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	future := map[string]any{"started_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "active_ms": 4 * 3_600_000, "what": "training"}
	past := map[string]any{"started_at": time.Now().UTC().Add(-5 * time.Hour).Format(time.RFC3339), "active_ms": 4 * 3_600_000, "what": "training"}
	tasks := map[string]any{"started_at": time.Now().UTC().Add(-5 * time.Hour).Format(time.RFC3339), "active_ms": 3_600_000, "what": "tasks"}
	for i, c := range []struct {
		body map[string]any
		says string
	}{
		{future, "after the server's time"}, {future, "after the server's time"}, {future, "after the server's time"},
		{past, "course session"}, {tasks, "measures it"},
	} {
		status, raw := e.do("worker1", "POST", "/api/v1/me/activity", c.body, "")
		if status != 422 || !strings.Contains(string(raw), c.says) {
			t.Fatalf("span %d: got %d %s, want 422 saying %q", i, status, raw, c.says)
		}
	}
	me := e.must("worker1", "GET", "/api/v1/me/earnings", nil, 200)
	if me["earned"].(float64) != 0 || me["active_ms"].(float64) != 0 {
		t.Fatalf("after refused spans: %v; want nothing earned or counted", me)
	}
}

func TestReviewResolves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Three workers who each pick differently push a task past max overlap.
	proj := e.must("client_admin", "POST", "/api/v1/projects", map[string]any{"name": "three", "kind": "classify",
		"schema": map[string]any{"inputs": []string{"text"}, "labels": []string{"a", "b", "c"}}, "overlap": 2, "max_overlap": 3}, 201)
	e.ids["three"] = proj["id"].(string)
	if status, raw := e.do("client_admin", "POST", "/api/v1/projects/{three}/batches", "text\nhard one\n", "text/csv"); status != 201 {
		t.Fatalf("upload: %d %s", status, raw)
	}
	for i, l := range []string{"a", "b", "c"} {
		w := fmt.Sprintf("worker%d", i+1)
		off := e.must(w, "POST", "/api/v1/work/next", map[string]string{"project_id": e.ids["three"]}, 200)
		if _, ok := off["task"].(map[string]any)["id"]; ok {
			t.Fatalf("the offer shows the task id, which dates the task: %v", off)
		}
		e.must(w, "POST", "/api/v1/assignments/"+off["assignment_id"].(string)+"/answer", map[string]any{"answer": map[string]string{"label": l}}, 200)
	}
	e.must("worker4", "POST", "/api/v1/work/next", map[string]string{"project_id": e.ids["three"]}, 204)
	q0 := e.must("reviewer", "GET", "/api/v1/projects/{three}/review", nil, 200)
	items := q0["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("review queue: %v", q0)
	}
	item := items[0].(map[string]any)
	if n := len(item["answers"].([]any)); n != 3 {
		t.Fatalf("a disagreement shows its %d answers, want 3", n)
	}
	e.ids["task"] = item["task"].(map[string]any)["id"].(string)
	q := e.must("reviewer", "GET", "/api/v1/projects/{three}/review", nil, 200)
	if items := q["items"].([]any); len(items) != 1 {
		t.Fatalf("review queue: got %d items, want 1", len(items))
	}
	e.must("reviewer", "POST", "/api/v1/tasks/{task}/resolve", map[string]any{"answer": map[string]string{"label": "nope"}}, 422)
	e.must("reviewer", "POST", "/api/v1/tasks/{task}/resolve", map[string]any{"answer": map[string]string{"label": "b"}}, 200)
	e.must("reviewer", "POST", "/api/v1/tasks/{task}/resolve", map[string]any{"answer": map[string]string{"label": "b"}}, 409)
	got := e.must("viewer", "GET", "/api/v1/tasks/{task}", nil, 200)
	if got["state"] != "done" {
		t.Fatalf("task after review: %v", got)
	}
}

func TestRevokedTokenStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	me := e.must("viewer", "GET", "/api/v1/me", nil, 200)
	e.ids["tok"] = me["token_id"].(string)
	e.must("other_admin", "DELETE", "/api/v1/tokens/{tok}", nil, 404)
	e.must("viewer", "DELETE", "/api/v1/tokens/{tok}", nil, 204)
	e.must("viewer", "GET", "/api/v1/me", nil, 401)
}

// docs/api.md lists every route of the table, and nothing else.
func TestRoutesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE) /api/v1/[^`]*)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	sameAsRoutes(t, documented, "docs/api.md")
}

// sameAsRoutes fails for each route that doc does not list and each route
// it lists that does not exist.
func sameAsRoutes(t *testing.T, documented map[string]bool, doc string) {
	t.Helper()
	var a api.API
	for _, rt := range a.Routes() {
		if !documented[rt.Pattern] {
			t.Errorf("route %q is missing from %s", rt.Pattern, doc)
		}
		delete(documented, rt.Pattern)
	}
	for r := range documented {
		t.Errorf("%s lists %q, which is not a route", doc, r)
	}
}

// A qualification gates a skill: a worker trains (seeing answers and
// explanations), fails the test and waits out the cool-down, passes, and
// only then gets the skill's tasks.
func TestTrainingAndQualification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	items := []map[string]any{
		{"payload": map[string]string{"text": "hello friend"}, "answer": map[string]string{"label": "ok"}, "explanation": "A greeting."},
		{"payload": map[string]string{"text": "buy pills now"}, "answer": map[string]string{"label": "spam"}, "explanation": "Selling, unasked."},
	}
	course := func(name, purpose string, extra map[string]any) string {
		body := map[string]any{"name": name, "purpose": purpose, "kind": "classify", "language": "en",
			"schema": map[string]any{"inputs": []string{"text"}, "labels": []string{"ok", "spam"}}, "items": items}
		for k, v := range extra {
			body[k] = v
		}
		c := e.must("admin", "POST", "/api/v1/courses", body, 201)
		return c["id"].(string)
	}
	e.must("client_admin", "POST", "/api/v1/courses", map[string]any{"name": "x"}, 403)
	e.must("admin", "POST", "/api/v1/courses", map[string]any{"name": "q0", "purpose": "qualification", "kind": "classify",
		"schema": map[string]any{"inputs": []string{"text"}, "labels": []string{"ok", "spam"}}, "items": items}, 422) // no pass mark
	e.ids["training"] = course("moderation basics", "training", nil)
	e.ids["qual"] = course("moderation test", "qualification", map[string]any{"pass_mark": 1.0, "cooldown_seconds": 3600})
	e.must("admin", "POST", "/api/v1/courses", map[string]any{"name": "another test", "purpose": "qualification", "kind": "classify",
		"language": "en", "pass_mark": 0.5, "schema": map[string]any{"inputs": []string{"text"}, "labels": []string{"ok", "spam"}}, "items": items}, 409)

	// Unqualified: no moderation work.
	e.must("worker1", "POST", "/api/v1/work/next", nil, 204)

	take := func(courseKey string, answers []string, wantStatus int) map[string]any {
		at := e.must("worker1", "POST", "/api/v1/courses/{"+courseKey+"}/attempts", nil, wantStatus)
		if wantStatus != 201 {
			return at
		}
		e.ids["attempt"] = at["id"].(string)
		var last map[string]any
		for _, label := range answers {
			next := e.must("worker1", "GET", "/api/v1/attempts/{attempt}/next", nil, 200)
			item := next["item"].(map[string]any)
			if _, leaked := item["answer"]; leaked {
				t.Fatalf("the item shows its answer before it is answered: %v", item)
			}
			last = e.must("worker1", "POST", "/api/v1/attempts/{attempt}/answers",
				map[string]any{"item_id": item["id"], "answer": map[string]string{"label": label}}, 200)
		}
		e.must("worker1", "GET", "/api/v1/attempts/{attempt}/next", nil, 204)
		e.must("worker2", "GET", "/api/v1/attempts/{attempt}", nil, 404)
		return last
	}
	last := take("training", []string{"ok", "ok"}, 201)
	if last["explanation"] != "Selling, unasked." || last["score"] != 0.0 {
		t.Fatalf("training feedback: %v", last)
	}
	last = take("qual", []string{"ok", "ok"}, 201)
	if _, leaked := last["expected"]; leaked || last["attempt"].(map[string]any)["state"] != "failed" {
		t.Fatalf("failed qualification: %v (no answers may be shown)", last)
	}
	e.must("worker1", "POST", "/api/v1/work/next", nil, 204)
	take("qual", nil, 409) // cooling down
	skills := e.must("worker1", "GET", "/api/v1/users/{user:worker1}/skills", nil, 200)
	if items := skills["items"].([]any); len(items) != 0 {
		t.Fatalf("skills before passing: %v", items)
	}

	// Another worker passes first time and gets work straight away.
	at := e.must("worker2", "POST", "/api/v1/courses/{qual}/attempts", nil, 201)
	e.ids["attempt2"] = at["id"].(string)
	for range 2 {
		next := e.must("worker2", "GET", "/api/v1/attempts/{attempt2}/next", nil, 200)
		item := next["item"].(map[string]any)
		label := "ok"
		if item["seq"].(float64) == 2 {
			label = "spam"
		}
		last = e.must("worker2", "POST", "/api/v1/attempts/{attempt2}/answers",
			map[string]any{"item_id": item["id"], "answer": map[string]string{"label": label}}, 200)
	}
	if last["attempt"].(map[string]any)["state"] != "passed" {
		t.Fatalf("qualification: %v, want passed", last)
	}
	e.must("worker2", "POST", "/api/v1/work/next", nil, 200)
	skills = e.must("worker2", "GET", "/api/v1/users/{user:worker2}/skills", nil, 200)
	sk := skills["items"].([]any)[0].(map[string]any)
	if sk["qualified"] != true || sk["status"] != "active" {
		t.Fatalf("skill after passing: %v", sk)
	}
	e.must("worker1", "GET", "/api/v1/users/{user:worker2}/skills", nil, 404)
	// A reviewer qualifies too (their record weighs their audits); a
	// client cannot.
	e.must("reviewer", "POST", "/api/v1/courses/{qual}/attempts", nil, 201)
	e.must("client_admin", "POST", "/api/v1/courses/{qual}/attempts", nil, 403)
}
