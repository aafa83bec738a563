package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/work"
)

// opsHub is a hub with a client, a center, a batch due in two hours that
// nobody is working on, and a few answers today (two of them to gold).
func opsHub(t *testing.T) (*hub.Hub, *httptest.Server, string, string) {
	t.Helper()
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	// The hub's clock starts two hours back (or at midnight, if that is
	// later), so the answers below fall today.
	now := time.Now().UTC()
	clk := &clock{t: now.Add(-2 * time.Hour)}
	if midnight := now.Truncate(24 * time.Hour); clk.t.Before(midnight) {
		clk.t = midnight
	}
	cfg.Now = clk.now
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	st := h.Store
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Kaveri Foods")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "Reviews", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, GoldRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(2 * time.Hour)
	tasks := func(n int, gold bool) func(yield func(project.NewTask, error) bool) {
		return func(yield func(project.NewTask, error) bool) {
			for i := range n {
				nt := project.NewTask{Payload: fmt.Appendf(nil, `{"text":"review %d"}`, i)}
				if gold {
					nt.Gold = []byte(`{"label":"spam"}`)
				}
				if !yield(nt, nil) {
					return
				}
			}
		}
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "Diwali reviews", Purpose: work.PurposeWork, Deadline: &due}, tasks(50, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, tasks(4, true)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.AddCenter(ctx, "Melur"); err != nil {
		t.Fatal(err)
	}
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya", "worker")
	for range 6 {
		o, err := h.Dispatch.Next(ctx, w.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		// Each answer takes a quarter of an hour, counted as the
		// assignment's ten minutes: an hour in all, which earned nothing,
		// under the minimum wage.
		clk.add(15 * time.Minute)
		if _, err := h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"spam"}`), ReportedMS: 5000}); err != nil {
			t.Fatal(err)
		}
	}
	staff, _ := h.Auth.CreateUser(ctx, auth.HubOrgID, "Devi", "ops")
	login, password, err := h.Auth.IssuePassword(ctx, staff, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return h, srv, login, password
}

func TestOpsPage(t *testing.T) {
	_, srv, login, password := opsHub(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(srv.URL+"/desk/signin", url.Values{"login": {login}, "secret": {password}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.Request.URL.Path != "/ops/" {
		t.Fatalf("hub staff's first page: %s", resp.Request.URL.Path)
	}
	for _, want := range []string{
		"Diwali reviews", "at risk", "Kaveri Foods", "Melur", "Never",
		`<svg class="chart"`, `role="img"`, "Answers a day", ": 6</title>", "Gold answers right",
		"Workers under the minimum wage of ₹50.00 an hour", "<th scope=\"row\">Kavya</th>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the ops page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
	resp, err = c.Get(srv.URL + "/ops/impact")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	page = string(b)
	// One active worker: every share is too small to show.
	for _, want := range []string{"Active workers", "<dd>1</dd>", "not shown (too few people)", "Retention at 30 days", "fewer than 5 people"} {
		if !strings.Contains(page, want) {
			t.Errorf("the impact page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("impact page:\n%s", page)
	}
}

// clock is a settable clock for a hub's store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
