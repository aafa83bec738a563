package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/ledger"
)

// A client admin on the hub's pages: makes a project from the classify
// template, uploads a batch (a bad one first, which stores nothing),
// follows its progress, reads the quality report and downloads results.
func TestClientPages(t *testing.T) {
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	org, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Sahyadri News")
	admin, _ := h.Auth.CreateUser(ctx, org.ID, "Rekha", "client_admin")
	login, password, err := h.Auth.IssuePassword(ctx, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Other Co")
	otherAdmin, _ := h.Auth.CreateUser(ctx, other.ID, "Omar", "client_admin")
	ologin, opassword, _ := h.Auth.IssuePassword(ctx, otherAdmin, "")
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		return do(req)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}
	csrf := func(page string) string {
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token:\n%s", page)
		}
		return m[1]
	}
	resp, page := post("/desk/signin", url.Values{"login": {login}, "secret": {password}})
	if resp.Request.URL.Path != "/client/" || !strings.Contains(page, "No projects yet.") {
		t.Fatalf("a client's first page %s:\n%s", resp.Request.URL.Path, page)
	}
	_, page = get("/client/projects/new?kind=classify")
	if !strings.Contains(page, "ok\nspam\nabuse") {
		t.Fatalf("the classify template:\n%s", page)
	}
	form := url.Values{"csrf": {csrf(page)}, "kind": {"classify"}, "name": {"Comments"}, "instructions": {"Mark spam."},
		"inputs": {"text"}, "labels": {"ok\nspam"}, "overlap": {"1"}}
	form.Set("labels", "")
	if resp, page = post("/client/projects", form); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "labels") {
		t.Fatalf("a project with no labels: %d\n%s", resp.StatusCode, page)
	}
	form.Set("labels", "ok\nspam")
	resp, page = post("/client/projects", form)
	if resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.Path, "/client/projects/") {
		t.Fatalf("create: %d %s\n%s", resp.StatusCode, resp.Request.URL.Path, page)
	}
	projectPath := resp.Request.URL.Path
	action := regexp.MustCompile(`action="(/client/projects/[^"]+/batches\?csrf=[^"]+)"`).FindStringSubmatch(page)
	if action == nil {
		t.Fatalf("no upload form:\n%s", page)
	}
	upload := func(csv string, asJSON bool) (*http.Response, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("rows", "posts.csv")
		fw.Write([]byte(csv))
		mw.Close()
		req, _ := http.NewRequest("POST", srv.URL+strings.ReplaceAll(action[1], "&amp;", "&")+"&name=posts.csv", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if asJSON {
			req.Header.Set("Accept", "application/json")
		}
		return do(req)
	}
	resp, page = upload("external_id,text\np1,hello\np2,\n", false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "The file was not accepted") || !strings.Contains(page, "line 3") {
		t.Fatalf("a bad batch: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "<progress max") {
		t.Fatalf("the bad batch left a batch behind:\n%s", page)
	}
	resp, page = upload("external_id,text\np1,hello\np2,buy now\np3,rain today\n", true)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(page, `"tasks":3`) {
		t.Fatalf("the script's upload: %d %s", resp.StatusCode, page)
	}
	_, page = get(projectPath)
	if !strings.Contains(page, "0 of 3 done") || !strings.Contains(page, `<progress max="3" value="0"`) {
		t.Fatalf("batch progress:\n%s", page)
	}
	batch := regexp.MustCompile(`/client/batches/([0-9a-f-]{36})/results`).FindStringSubmatch(page)[1]
	resp, page = get("/client/batches/" + batch + "/quality?project=" + strings.TrimPrefix(projectPath, "/client/projects/"))
	if resp.StatusCode != 200 || !strings.Contains(page, "Estimated accuracy of the results") || !strings.Contains(page, "Not measured yet") {
		t.Fatalf("quality: %d\n%s", resp.StatusCode, page)
	}
	resp, page = get("/client/batches/" + batch + "/results")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(page, "task_id") && !strings.HasPrefix(page, "external_id") {
		t.Fatalf("results: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), page)
	}
	// Priced at ₹2.50 a result, the three results once answered make an
	// invoice of ₹7.50 + 18 % GST.
	projectID := strings.TrimPrefix(projectPath, "/client/projects/")
	if _, err := ledger.SetRateCard(ctx, h.Store, ledger.RateCard{ProjectID: projectID, ClientPrice: 250, WorkerPay: 100, GSTBps: 1800}); err != nil {
		t.Fatal(err)
	}
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya", "worker")
	for range 3 {
		o, err := h.Dispatch.Next(ctx, w.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 5000}); err != nil {
			t.Fatal(err)
		}
	}
	resp, page = get("/client/invoice")
	if resp.StatusCode != 200 || !strings.Contains(page, "₹7.50") || !strings.Contains(page, "₹1.35") || !strings.Contains(page, "₹8.85") ||
		!strings.Contains(page, "Ledger check: batch 1") {
		t.Fatalf("invoice: %d\n%s", resp.StatusCode, page)
	}
	resp, page = get("/client/invoice.csv")
	if resp.StatusCode != 200 || !strings.Contains(page, ",TOTAL,,,3,7.50,,,1.35,8.85") {
		t.Fatalf("invoice CSV: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := get("/client/invoice?from=2026-13-01"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad date: %d", resp.StatusCode)
	}
	// Another client sees none of it.
	jar2, _ := cookiejar.New(nil)
	c.Jar = jar2
	post("/desk/signin", url.Values{"login": {ologin}, "secret": {opassword}})
	if resp, _ := get(projectPath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another client's project: %d", resp.StatusCode)
	}
	if resp, _ := get("/client/batches/" + batch + "/results"); resp.StatusCode == http.StatusOK {
		t.Errorf("another client's results: %d", resp.StatusCode)
	}
	if _, page := get("/client/invoice"); strings.Contains(page, "₹7.50") {
		t.Errorf("another client's invoice shows ours:\n%s", page)
	}
}
