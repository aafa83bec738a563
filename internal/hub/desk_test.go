package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// A worker of the hub's built-in center signs in to the web desk with the
// PIN the API issued and answers every task of a project, one form post
// per task, through the real dispatcher.
func TestDeskOnHub(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{t: time.Now()}
	h := openTestHub(t, func(c *Config) { c.Now = clk.now })
	st := h.Store
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	p := classifyProject(t, st, client.ID, "posts")
	if _, err := ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 125050}); err != nil {
		t.Fatal(err)
	}
	const n = 5
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"post %d"}`, i)}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	u, err := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya R", "worker")
	if err != nil {
		t.Fatal(err)
	}
	login, pin, err := h.Auth.IssuePIN(ctx, u, "")
	if err != nil || login != "kavya.r" || len(pin) != 6 {
		t.Fatalf("IssuePIN: %q %q %v", login, pin, err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, form url.Values) string {
		resp, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := post("/desk/signin", url.Values{"login": {login}, "secret": {pin}})
	if !strings.Contains(page, "Kavya R") {
		t.Fatalf("home after sign-in:\n%s", page)
	}
	resp, err := c.Get(srv.URL + "/desk/task")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page = string(b)
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s on the page:\n%s", name, page)
		}
		return m[1]
	}
	for i := range n {
		if !strings.Contains(page, "post ") {
			t.Fatalf("task %d: no task text:\n%s", i, page)
		}
		// Each task's page is open six minutes by the hub's clock; the form
		// claims it was shown at the epoch, which nothing reads.
		clk.add(6 * time.Minute)
		page = post("/desk/task", url.Values{"csrf": {field("csrf")}, "assignment": {field("assignment")},
			"label": {"spam"}, "shown": {"0"}})
	}
	if !strings.Contains(page, "No work right now") {
		t.Fatalf("after %d answers:\n%s", n, page)
	}
	results, err := project.Results(ctx, st, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 100})
	if err != nil || len(results) != n {
		t.Fatalf("%d results, want %d (%v)", len(results), n, err)
	}
	for _, r := range results {
		if r.Answer.Label != "spam" {
			t.Errorf("result %s: %+v", r.TaskID, r.Answer)
		}
	}
	resp, err = c.Get(srv.URL + "/desk/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), fmt.Sprintf("<dd>%d</dd>", n)) {
		t.Errorf("home does not count today's %d answers:\n%s", n, b)
	}
	// Five answers at ₹1,250.50.
	if !strings.Contains(string(b), "<dd>₹6,252.50</dd>") {
		t.Errorf("home does not show today's earnings:\n%s", b)
	}
	// The statement: the five answers took the 30 minutes the hub measured
	// from each offer.
	resp, err = c.Get(srv.URL + "/desk/earnings")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "₹6,252.50") || !strings.Contains(string(b), "0.5 h") || strings.Contains(string(b), "minimum wage") {
		t.Errorf("earnings statement:\n%s", b)
	}
}
