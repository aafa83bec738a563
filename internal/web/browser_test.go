package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/web"
	"banyan/internal/work"
)

// The desk in a real browser: headless Chromium, driven over the DevTools
// protocol. It needs Chromium (BANYAN_CHROMIUM, or chromium on the PATH)
// and, for the accessibility audit, axe-core's axe.min.js (BANYAN_AXE);
// without them the test skips, except under CI=true, where it fails.
// BANYAN_SCREENSHOTS=DIR saves a screenshot of each page visited.

func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("BANYAN_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	missing(t, "Chromium (install Debian's chromium, or set BANYAN_CHROMIUM)")
	return ""
}

func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing, and CI=true", what)
	}
	t.Skipf("%s is missing", what)
}

type browserRig struct {
	t    *testing.T
	url  string
	ctx  context.Context
	shot string
	axe  string
}

func newBrowser(t *testing.T, url string) *browserRig {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(900, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	b := &browserRig{t: t, url: url, ctx: ctx, shot: os.Getenv("BANYAN_SCREENSHOTS")}
	if p := os.Getenv("BANYAN_AXE"); p != "" {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("BANYAN_AXE: %v", err)
		}
		b.axe = string(src)
	}
	return b
}

func (b *browserRig) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// eval runs a script in the page and returns its value.
func eval[T any](b *browserRig, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (b *browserRig) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// submitAndWait clicks a form's button and waits for the next page.
func (b *browserRig) submitAndWait(button string) {
	b.t.Helper()
	eval[any](b, `document.body.dataset.seen = "1"`)
	b.run(chromedp.Click(chromedp.CSS(button)))
	// The old page's scripts go away as the new one loads, so a check that
	// fails while the page changes is simply tried again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.body && document.body.dataset.seen !== "1" && document.readyState === "complete"`))
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("after clicking %s no new page came (%v)", button, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.run(chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *browserRig) setLang(code string) {
	b.t.Helper()
	b.run(chromedp.SetValue(chromedp.ID("lang"), code))
	b.submitAndWait("form.lang button")
}

// audit runs axe-core on the page and fails on serious or critical
// violations of WCAG 2.1 A and AA.
func (b *browserRig) audit(name string) {
	b.t.Helper()
	if b.shot != "" && keepShot(name) {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	if b.axe == "" {
		return
	}
	eval[any](b, b.axe+"; true")
	found := eval[[]string](b, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
			.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")))`,
		chromedp.EvalAwaitPromise)
	for _, v := range found {
		b.t.Errorf("%s: %s", name, v)
	}
}

// clientFlow: a client admin makes a project from a template, uploads a
// batch with the page's progress bar, sees its progress and fetches its
// results; every client page is audited on the way.
func (b *browserRig) clientFlow(h *hub.Hub, url, _ string) {
	b.t.Helper()
	ctx := context.Background()
	org, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Kaveri Foods")
	admin, _ := h.Auth.CreateUser(ctx, org.ID, "Rekha", "client_admin")
	login, password, err := h.Auth.IssuePassword(ctx, admin, "")
	if err != nil {
		b.t.Fatal(err)
	}
	c := newBrowser(b.t, url)
	c.axe = b.axe
	c.run(chromedp.Navigate(url+"/desk/signin"), chromedp.SendKeys(chromedp.ID("login"), login), chromedp.SendKeys(chromedp.ID("secret"), password))
	c.submitAndWait("form.card button")
	c.run(chromedp.Navigate(url + "/client/projects/new?kind=classify"))
	c.submitAndWait("form.card button.primary")
	project := eval[string](c, `location.pathname`)
	file := filepath.Join(b.t.TempDir(), "comments.csv")
	if err := os.WriteFile(file, []byte("external_id,text\nc1,Great match\nc2,Cheap loans now\nc3,Rain tonight\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
	c.run(chromedp.SetUploadFiles(chromedp.ID("rows"), []string{file}))
	c.submitAndWait("#upload button")
	if got := c.text("main .notice"); !strings.Contains(got, "The batch is stored") {
		b.t.Fatalf("after the upload: %q", got)
	}
	if got := c.text("main table td"); !strings.Contains(got, "0 of 3 done") {
		b.t.Fatalf("progress after the upload: %q", got)
	}
	results := eval[string](c, `fetch(document.querySelector("a[href$='/results']").href).then(r => r.text())`, chromedp.EvalAwaitPromise)
	if !strings.Contains(results, "external_id") {
		b.t.Fatalf("results download: %q", results)
	}
	quality := eval[string](c, `document.querySelector("a[href*='/quality']").getAttribute("href")`)
	// Every client page, in every language.
	for _, l := range web.Langs {
		c.setLang(l.Code)
		for name, path := range map[string]string{"client-home": "/client/", "client-new": "/client/projects/new?kind=classify",
			"client-new-extract": "/client/projects/new?kind=extract", "client-project": project, "client-quality": quality,
			"client-invoice": "/client/invoice"} {
			c.run(chromedp.Navigate(url + path))
			c.audit(name + "-" + l.Code)
		}
	}
}

// The hub staff's page in a browser, audited in every language.
func TestOpsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test")
	}
	if os.Getenv("BANYAN_AXE") == "" {
		missing(t, "axe-core (npm install axe-core; set BANYAN_AXE to its axe.min.js)")
	}
	_, srv, login, password := opsHub(t)
	b := newBrowser(t, srv.URL)
	b.run(chromedp.Navigate(srv.URL+"/desk/signin"), chromedp.SendKeys(chromedp.ID("login"), login), chromedp.SendKeys(chromedp.ID("secret"), password))
	b.submitAndWait("form.card button")
	for _, l := range web.Langs {
		b.setLang(l.Code)
		for _, path := range pages("/ops/", true) {
			b.run(chromedp.Navigate(srv.URL + path))
			b.audit(pageName(path) + "-" + l.Code)
		}
	}
	b.run(chromedp.Navigate(srv.URL + "/ops/"))
	if n := eval[int](b, `document.querySelectorAll("svg.chart rect.bar").length`); n != 14 {
		t.Errorf("the throughput chart has %d bars, want 14", n)
	}
}

// browserOffice is a center office over the hub's store, for the pages.
type browserOffice struct {
	local *center.Local
	h     *hub.Hub
}

func (o browserOffice) Status(ctx context.Context) (web.OfficeStatus, error) {
	q, err := o.local.Queue(ctx)
	return web.OfficeStatus{Pending: q.Pending, Sent: q.Sent, ActiveGrants: q.ActiveGrants, FreeSlots: q.FreeSlots, FilesMissing: q.FilesMissing,
		LastSync: time.Now().Add(-3 * time.Minute), Online: true}, err
}

func (o browserOffice) People(ctx context.Context, since time.Time) ([]web.Person, error) {
	return o.local.People(ctx, since)
}

func (o browserOffice) Enrol(ctx context.Context, name, login string) (auth.User, string, string, error) {
	u, err := o.h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, name, "worker")
	if err != nil {
		return auth.User{}, "", "", err
	}
	login, pin, err := o.h.Auth.IssuePIN(ctx, u, login)
	return u, login, pin, err
}

func (o browserOffice) ResetPIN(ctx context.Context, id string) (string, string, error) {
	u, err := o.h.Auth.User(ctx, id)
	if err != nil {
		return "", "", err
	}
	return o.h.Auth.IssuePIN(ctx, u, "")
}

// course takes the course whose card names purpose from the training
// page, choosing each item's label with its number key: a training
// course's feedback page comes after every item.
func (b *browserRig) course(purpose string, feedback bool) {
	b.t.Helper()
	// The courses are listed as made: the training course, then the
	// qualification.
	card := 1
	if purpose == "Qualification" {
		card = 2
	}
	b.run(chromedp.Navigate(b.url + "/desk/training"))
	b.submitAndWait(fmt.Sprintf(".courses li:nth-child(%d) form button", card))
	keys := map[string]string{"Free gold coins, click": "2", "The market opens at nine": "1", "Nobody wants you here, fool": "3"}
	for i := 0; i < 3; i++ {
		text := b.text(".inputs dd")
		b.audit(fmt.Sprintf("desk-%s-item-%d", strings.ToLower(purpose), i+1))
		b.run(chromedp.KeyEvent(keys[text]))
		b.submitAndWait("#answer button[type=submit]")
		if feedback {
			if v := b.text("main [role=status] p"); v != "Right." {
				b.t.Fatalf("%s item %d: feedback %q", purpose, i+1, v)
			}
			if i == 0 {
				b.audit("desk-training-feedback")
			}
			b.submitAndWait("main a.primary")
		}
	}
	b.audit("desk-" + strings.ToLower(purpose) + "-end")
}

// keepShot picks the screenshots docs/ keeps: every page in English, the
// worker's home and task pages in Hindi and Tamil too, and the first item
// of each course.
func keepShot(name string) bool {
	if strings.Contains(name, "-item-") {
		return strings.HasSuffix(name, "-item-1")
	}
	if strings.HasSuffix(name, "-hi") || strings.HasSuffix(name, "-ta") {
		return strings.HasPrefix(name, "desk-task-") || strings.HasPrefix(name, "desk-home-")
	}
	return true
}

// auditCatches checks the audit itself on a page made to fail it: an
// image without a text alternative and a field without a label.
func (b *browserRig) auditCatches() {
	b.t.Helper()
	b.run(chromedp.Navigate(`data:text/html,<!doctype html><html lang="en"><title>bad</title><main><img src="x.png"><input id="q"></main></html>`))
	eval[any](b, b.axe+"; true")
	found := eval[[]string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => v.id))`,
		chromedp.EvalAwaitPromise)
	if !slices.Contains(found, "image-alt") || !slices.Contains(found, "label") {
		b.t.Fatalf("the accessibility audit missed a bad page's faults: found %v", found)
	}
}

// pages are the pages under prefix a browser shows, from the route table:
// every GET without a path parameter, but the assets.
func pages(prefix string, signedIn bool) []string {
	var out []string
	for _, rt := range (&web.Web{}).Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != "GET" || rt.Session != signedIn || !strings.HasPrefix(path, prefix) || strings.Contains(strings.ReplaceAll(path, "{$}", ""), "{") ||
			strings.HasPrefix(path, "/static/") || path == "/{$}" {
			continue
		}
		out = append(out, strings.ReplaceAll(path, "{$}", ""))
	}
	return out
}

func pageName(path string) string {
	name := strings.Trim(strings.ReplaceAll(path, "/", "-"), "-")
	if name == "desk" {
		name = "desk-home"
	}
	return name
}

func TestDeskInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test")
	}
	if os.Getenv("BANYAN_AXE") == "" {
		missing(t, "axe-core (npm install axe-core; set BANYAN_AXE to its axe.min.js)")
	}
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	st := h.Store
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Sahyadri News")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam","abuse"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "Comment moderation", Kind: work.Classify, Schema: schema,
		Instructions: "Mark advertising as spam and insults as abuse; everything else is ok.",
		Overlap:      1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	comments := []string{"Great match yesterday, well played!", "Cheap loans, call now", "The road to the school needs repair",
		"You people are idiots", "Buy followers here", "Rain expected in the evening", "Lovely photo of the temple",
		"Win a free phone!!!", "When does the bus leave?", "Thank you for the update"}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "comments", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":%q}`, comments[i])}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The work needs a qualification, and there is training for it.
	for _, purpose := range []string{work.Training, work.Qualification} {
		items := [][3]string{{`{"text":"Free gold coins, click"}`, `{"label":"spam"}`, "It sells something nobody asked for."},
			{`{"text":"The market opens at nine"}`, `{"label":"ok"}`, "Plain news."},
			{`{"text":"Nobody wants you here, fool"}`, `{"label":"abuse"}`, "It insults a person."}}
		if _, err := training.CreateCourse(ctx, st, work.Course{Name: "Comment moderation: " + purpose, Purpose: purpose, Kind: work.Classify,
			Language: "en", Schema: schema, Instructions: p.Instructions, PassMark: 0.66, CooldownSeconds: 600},
			func(yield func(training.CourseItemIn, error) bool) {
				for _, it := range items {
					if !yield(training.CourseItemIn{Payload: []byte(it[0]), Answer: []byte(it[1]), Explanation: it[2]}, nil) {
						return
					}
				}
			}); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya R", "worker")
	login, pin, err := h.Auth.IssuePIN(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()

	b := newBrowser(t, srv.URL)
	b.auditCatches()
	b.run(chromedp.Navigate(srv.URL + "/desk/signin"))
	for _, l := range web.Langs {
		b.setLang(l.Code)
		for _, path := range pages("/desk/", false) {
			b.run(chromedp.Navigate(srv.URL + path))
			b.audit(pageName(path) + "-" + l.Code)
		}
	}
	b.setLang("en")
	b.run(chromedp.Navigate(srv.URL+"/desk/signin"),
		chromedp.SendKeys(chromedp.ID("login"), login), chromedp.SendKeys(chromedp.ID("secret"), pin))
	b.submitAndWait("form.card button")
	heading := b.text("h1")
	if !strings.Contains(heading, "Kavya R") {
		t.Fatalf("after signing in the heading is %q", heading)
	}
	for _, l := range web.Langs {
		b.setLang(l.Code)
		for _, path := range pages("/desk/", true) {
			b.run(chromedp.Navigate(srv.URL + path))
			b.audit(pageName(path) + "-" + l.Code)
		}
	}
	b.setLang("en")
	// Not qualified yet: no work.
	b.run(chromedp.Navigate(srv.URL + "/desk/task"))
	if h := b.text("h1"); h != "No work right now" {
		t.Fatalf("before qualifying the task page says %q", h)
	}
	b.course("Training", true)
	b.course("Qualification", false)
	if msg := b.text("main .notice"); !strings.Contains(msg, "You passed the qualification") {
		t.Fatalf("after the qualification: %q", msg)
	}
	b.run(chromedp.Navigate(srv.URL + "/desk/task"))
	for i := range n {
		text := b.text(".inputs dd")
		key := "1"
		switch {
		case strings.Contains(strings.ToLower(text), "idiots"):
			key = "3"
		case strings.ContainsAny(text, "!") || strings.Contains(text, "Cheap") || strings.Contains(text, "Buy"):
			key = "2"
		}
		// The number key chooses the label (the desk's script).
		b.run(chromedp.KeyEvent(key))
		checked := eval[string](b, `(document.querySelector("input[name=label]:checked") || {}).value || ""`)
		if checked == "" {
			t.Fatalf("task %d: key %s chose nothing", i, key)
		}
		b.submitAndWait("#answer button[type=submit]")
	}
	heading = b.text("h1")
	if heading != "No work right now" {
		t.Fatalf("after %d tasks the heading is %q", n, heading)
	}
	for _, l := range web.Langs {
		b.setLang(l.Code)
		b.audit("desk-nowork-" + l.Code)
	}
	results, err := project.Results(ctx, st, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 100})
	if err != nil || len(results) != n {
		t.Fatalf("%d results, want %d (%v)", len(results), n, err)
	}
	// The center manager's pages, served over the same store as a center
	// would.
	mgr, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Manju", "center_manager")
	mlogin, password, err := h.Auth.IssuePassword(ctx, mgr, "")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&web.Web{Store: st, Auth: h.Auth, Office: browserOffice{&center.Local{Store: st}, h}, Place: "center", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	csrv := httptest.NewServer(mux)
	defer csrv.Close()
	m := newBrowser(t, csrv.URL)
	m.run(chromedp.Navigate(csrv.URL+"/desk/signin"),
		chromedp.SendKeys(chromedp.ID("login"), mlogin), chromedp.SendKeys(chromedp.ID("secret"), password))
	m.submitAndWait("form.card button")
	for _, l := range web.Langs {
		m.setLang(l.Code)
		for _, path := range pages("/center/", true) {
			m.run(chromedp.Navigate(csrv.URL + path))
			m.audit("center-office-" + l.Code)
		}
	}
	m.setLang("en")
	m.run(chromedp.SendKeys(chromedp.ID("name"), "Meena K"))
	m.submitAndWait("form.card button.primary")
	if pin := m.text(".pin"); len(pin) != 6 {
		t.Fatalf("enrolling from the office page showed PIN %q", pin)
	}
	m.audit("center-pin-en")

	b.clientFlow(h, srv.URL, p.ID)

	labels := map[string]int{}
	for _, r := range results {
		labels[r.Answer.Label]++
	}
	if labels["spam"] != 4 || labels["abuse"] != 1 || labels["ok"] != 5 {
		t.Errorf("labels given %v, want 4 spam, 1 abuse, 5 ok", labels)
	}
}
