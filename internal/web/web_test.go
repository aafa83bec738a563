package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/work"
)

// fakeDesk hands out tasks from a list and records the answers.
type fakeDesk struct {
	mu      sync.Mutex
	tasks   []dispatch.Offer
	answers map[string]string
	passed  map[string]bool
	reject  *work.AnswerError
}

func (d *fakeDesk) Pass(ctx context.Context, workerID, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.passed == nil {
		d.passed = map[string]bool{}
	}
	d.passed[id] = true
	return nil
}

func (d *fakeDesk) Next(ctx context.Context, workerID, projectID string) (dispatch.Offer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.tasks {
		if _, done := d.answers[t.WorkID]; !done && !d.passed[t.WorkID] {
			return t, nil
		}
	}
	return dispatch.Offer{}, dispatch.ErrNoWork
}

func (d *fakeDesk) Answer(ctx context.Context, in dispatch.Submission) (dispatch.AnswerStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reject != nil {
		return "", d.reject
	}
	d.answers[in.WorkID] = string(in.Answer)
	return dispatch.AnswerAccepted, nil
}

func (d *fakeDesk) File(ctx context.Context, workerID, id, field string) (project.TaskFile, error) {
	return project.TaskFile{}, store.ErrNotFound
}

func (d *fakeDesk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.WorkerDay{Answers: len(d.answers), Accuracy: 0.915, Scored: 40}, nil
}

func (d *fakeDesk) Earnings(ctx context.Context, workerID string) (Earnings, error) {
	return Earnings{}, store.ErrNotFound
}

// Assignment ids for the tests' tasks.
var (
	ida, idb, idc, idd, ide, idf = work.NewID(), work.NewID(), work.NewID(), work.NewID(), work.NewID(), work.NewID()
)

type rig struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	desk   *fakeDesk
	st     *store.Store
	people *auth.Service
	clk    *testClock
}

// testClock is the store's clock in these tests: the real one, moved on
// by skip.
type testClock struct {
	mu      sync.Mutex
	skipped time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skipped)
}

func (c *testClock) skip(d time.Duration) { c.mu.Lock(); c.skipped += d; c.mu.Unlock() }

func classifyTask(id string) dispatch.Offer {
	s := &work.Schema{Inputs: []string{"text"}, Labels: []string{"ok", "spam", "abuse"}}
	if err := s.Validate(work.Classify); err != nil {
		panic(err)
	}
	return dispatch.Offer{WorkID: id, ExpiresAt: time.Now().Add(time.Hour), Payload: json.RawMessage(`{"text":"buy cheap <b>pills</b>"}`),
		Kind: work.Classify, Schema: s, Instructions: "Mark spam."}
}

// newRig serves the pages over a fresh store with one worker, login
// "asha", PIN 123456.
func newRig(t *testing.T, tasks ...dispatch.Offer) *rig {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"), store.Options{Migrate: true, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	people := &auth.Service{Store: st}
	org, err := people.CreateOrg(ctx, auth.OrgCenter, "village")
	if err != nil {
		t.Fatal(err)
	}
	u, err := people.CreateUser(ctx, org.ID, "Asha", "worker")
	if err != nil {
		t.Fatal(err)
	}
	if err := people.SetSecret(ctx, u.ID, "asha", "123456"); err != nil {
		t.Fatal(err)
	}
	m, err := people.CreateUser(ctx, org.ID, "Manju", "center_manager")
	if err != nil {
		t.Fatal(err)
	}
	if err := people.SetSecret(ctx, m.ID, "manju", "secret-pass"); err != nil {
		t.Fatal(err)
	}
	d := &fakeDesk{tasks: tasks, answers: map[string]string{}}
	mux := http.NewServeMux()
	(&Web{Store: st, Auth: people, Desk: d, Place: "center", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	return &rig{t: t, srv: srv, client: client, desk: d, st: st, people: people, clk: clk}
}

func (g *rig) get(path string) (*http.Response, string) {
	g.t.Helper()
	resp, err := g.client.Get(g.srv.URL + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (g *rig) post(path string, form url.Values) (*http.Response, string) {
	g.t.Helper()
	resp, err := g.client.PostForm(g.srv.URL+path, form)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func (g *rig) signIn(login, secret string) (*http.Response, string) {
	return g.post("/desk/signin", url.Values{"login": {login}, "secret": {secret}})
}

func TestSignInAndOut(t *testing.T) {
	g := newRig(t)
	resp, body := g.get("/desk/")
	if resp.Request.URL.Path != "/desk/signin" || !strings.Contains(body, `name="secret"`) {
		t.Fatalf("signed out, /desk/ went to %s", resp.Request.URL.Path)
	}
	resp, body = g.signIn("asha", "000000")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
		t.Fatalf("wrong PIN: %d", resp.StatusCode)
	}
	resp, body = g.signIn("manju", "secret-pass")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a manager signing in to the worker desk: %d", resp.StatusCode)
	}
	resp, body = g.signIn("asha", "123456")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hello, Asha") || !strings.Contains(body, "92%") {
		t.Fatalf("after sign-in: %d %s\n%s", resp.StatusCode, resp.Request.URL.Path, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Request.Response.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", cookie)
	}
	// Signing out needs the page's CSRF token.
	if resp, _ := g.post("/desk/signout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without a CSRF token: %d", resp.StatusCode)
	}
	resp, body = g.post("/desk/signout", url.Values{"csrf": {csrfOf(t, body)}})
	if resp.Request.URL.Path != "/desk/signin" || !strings.Contains(body, "signed out") {
		t.Fatalf("after sign-out: %s", resp.Request.URL.Path)
	}
	if resp, _ := g.get("/desk/"); resp.Request.URL.Path != "/desk/signin" {
		t.Errorf("the old session still works")
	}
}

func TestSignInRateLimit(t *testing.T) {
	g := newRig(t)
	for range loginFailures {
		g.signIn("asha", "111111")
	}
	resp, body := g.signIn("asha", "123456")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many tries") {
		t.Fatalf("after %d wrong PINs the right one: %d", loginFailures, resp.StatusCode)
	}
}

func TestClassifyOneRoundTripPerTask(t *testing.T) {
	g := newRig(t, classifyTask(ida), classifyTask(idb))
	g.signIn("asha", "123456")
	resp, body := g.get("/desk/task")
	if resp.StatusCode != 200 || !strings.Contains(body, "buy cheap &lt;b&gt;pills&lt;/b&gt;") || !strings.Contains(body, `data-key="2"`) {
		t.Fatalf("task page: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"csrf": {csrfOf(t, body)}, "assignment": {ida}, "label": {"spam"},
		"shown": {"0"}}
	// Without the CSRF token the answer is refused.
	if resp, _ := g.post("/desk/task", url.Values{"assignment": form["assignment"], "label": {"spam"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("answer without CSRF: %d", resp.StatusCode)
	}
	resp, body = g.post("/desk/task", form)
	if resp.StatusCode != 200 || !strings.Contains(body, `value="`+idb+`"`) {
		t.Fatalf("the answer's reply is not the next task %s: %d %v\n%s", idb, resp.StatusCode, g.desk.answers, body)
	}
	if got := g.desk.answers[ida]; got != `{"label":"spam"}` {
		t.Errorf("answer recorded %q", got)
	}
	form.Set("assignment", idb)
	form.Set("label", "ok")
	resp, body = g.post("/desk/task", form)
	if !strings.Contains(body, "No work right now") {
		t.Fatalf("after the last task: %d\n%s", resp.StatusCode, body)
	}
}

func TestExtractErrorKeepsTheForm(t *testing.T) {
	s := &work.Schema{Inputs: []string{"scan"}, Fields: []work.Field{{Name: "gstin", Type: work.FieldText, Required: true},
		{Name: "total", Type: work.FieldNumber}}}
	if err := s.Validate(work.Extract); err != nil {
		t.Fatal(err)
	}
	task := dispatch.Offer{WorkID: idc, ExpiresAt: time.Now().Add(time.Hour),
		Payload: json.RawMessage(`{"scan":"INV-7"}`), Kind: work.Extract, Schema: s}
	g := newRig(t, task)
	g.signIn("asha", "123456")
	_, body := g.get("/desk/task")
	if !strings.Contains(body, `id="f_total"`) || !strings.Contains(body, `inputmode="decimal"`) {
		t.Fatalf("extract form:\n%s", body)
	}
	g.desk.reject = &work.AnswerError{Field: "gstin", Reason: "does not match the pattern"}
	resp, body := g.post("/desk/task", url.Values{"csrf": {csrfOf(t, body)}, "assignment": {task.WorkID},
		"f_gstin": {"29ABCDE"}, "f_total": {"1,250.00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) ||
		!strings.Contains(body, `value="1,250.00"`) || !strings.Contains(body, "Check this field: gstin") {
		t.Fatalf("rejected answer: %d\n%s", resp.StatusCode, body)
	}
}

func TestDraftComesBack(t *testing.T) {
	g := newRig(t, classifyTask(idd))
	g.signIn("asha", "123456")
	_, body := g.get("/desk/task")
	resp, _ := g.post("/desk/draft", url.Values{"csrf": {csrfOf(t, body)}, "assignment": {idd}, "label": {"abuse"}})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("draft: %d", resp.StatusCode)
	}
	_, body = g.get("/desk/task")
	if !strings.Contains(body, `value="abuse" checked`) {
		t.Fatalf("the draft is not filled in:\n%s", body)
	}
}

func TestLanguagePersists(t *testing.T) {
	g := newRig(t, classifyTask(ide))
	_, body := g.get("/desk/signin")
	g.post("/desk/lang", url.Values{"lang": {"ta"}, "back": {"/desk/signin"}})
	_, body = g.get("/desk/signin")
	if !strings.Contains(body, `<html lang="ta">`) || !strings.Contains(body, "உள்நுழை") {
		t.Fatalf("after choosing Tamil:\n%s", body)
	}
	g.signIn("asha", "123456")
	// A new browser: the person's choice follows them.
	jar, _ := cookiejar.New(nil)
	g.client.Jar = jar
	_, body = g.signIn("asha", "123456")
	if !strings.Contains(body, `<html lang="ta">`) {
		t.Fatalf("a fresh browser after signing in is not in Tamil:\n%s", body)
	}
	g.post("/desk/lang", url.Values{"lang": {"hi"}, "csrf": {csrfOf(t, body)}, "back": {"https://evil.example/"}})
	_, body = g.get("/desk/")
	if !strings.Contains(body, "नमस्ते") {
		t.Fatalf("after choosing Hindi:\n%s", body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	g := newRig(t)
	resp, _ := g.get("/desk/signin")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s", h)
		}
	}
}

// gzipped fetches a path as a browser would and returns its size on the
// wire.
func (g *rig) gzipped(path string) int {
	g.t.Helper()
	req, _ := http.NewRequest("GET", g.srv.URL+path, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := g.client.Transport.(*http.Transport).RoundTrip(withCookies(g, req))
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		g.t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if _, err := gzip.NewReader(bytes.NewReader(b)); err != nil {
			g.t.Fatalf("%s: bad gzip: %v", path, err)
		}
	}
	return len(b)
}

func withCookies(g *rig, req *http.Request) *http.Request {
	for _, c := range g.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}

// The desk's weight budget: the first load (sign-in page, its style
// sheet and script) at most 50 KB compressed, each next task at most 5 KB.
func TestWeightBudget(t *testing.T) {
	g := newRig(t, classifyTask(idf))
	g.client.Transport = &http.Transport{}
	first := g.gzipped("/desk/signin")
	wb := &Web{}
	wb.init()
	for _, name := range []string{"desk.css", "desk.js"} {
		first += g.gzipped("/static/" + name + "?v=" + wb.assets[name].hash)
	}
	if first > 50<<10 {
		t.Errorf("first load %d bytes compressed, budget 51,200", first)
	}
	g.signIn("asha", "123456")
	task := g.gzipped("/desk/task")
	if task > 5<<10 {
		t.Errorf("a task page %d bytes compressed, budget 5,120", task)
	}
	t.Logf("first load %d B, task page %d B (gzip)", first, task)
}
