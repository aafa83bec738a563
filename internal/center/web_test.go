package center_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/sim"
)

// A worker at a village center signs in to the web desk with a PIN and
// answers every leased task while the link to the hub is down; when it
// comes back every answer reaches the hub. The manager's office page shows
// the records waiting to go up meanwhile.
func TestDeskAtCenterOffline(t *testing.T) {
	t.Parallel()
	g := newRig(t, 6)
	ctx := context.Background()
	w, _, err := g.center.AddPerson(ctx, "Lakshmi", auth.Worker)
	if err != nil {
		t.Fatal(err)
	}
	login, pin, err := g.center.Auth.IssuePIN(ctx, w, "")
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := g.center.AddPerson(ctx, "Manju", auth.CenterManager)
	mlogin, password, err := g.center.Auth.IssuePassword(ctx, m, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	g.link.Set(sim.LinkConfig{Down: true})

	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	send := func(c *http.Client, path string, form url.Values) string {
		t.Helper()
		var resp *http.Response
		var err error
		if form == nil {
			resp, err = c.Get(g.desk.URL + path)
		} else {
			resp, err = c.PostForm(g.desk.URL+path, form)
		}
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
	value := func(page, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s on the page:\n%s", name, page)
		}
		return m[1]
	}
	c := browser()
	send(c, "/desk/signin", url.Values{"login": {login}, "secret": {pin}})
	page := send(c, "/desk/task", nil)
	var ids []string
	for strings.Contains(page, `name="assignment"`) {
		id := value(page, "assignment")
		// A quarter of an hour on each task, of which the center counts
		// its hold of ten minutes.
		g.skip(15 * time.Minute)
		page = send(c, "/desk/task", url.Values{"csrf": {value(page, "csrf")}, "assignment": {id},
			"label": {"spam"}, "shown": {"0"}})
		ids = append(ids, id)
	}
	n := len(ids)
	if n != 6 || !strings.Contains(page, "No work right now") {
		t.Fatalf("did %d tasks offline, want 6:\n%s", n, page)
	}
	mc := browser()
	office := send(mc, "/desk/signin", url.Values{"login": {mlogin}, "secret": {password}})
	// Six answers (the center measures their time itself: no spans).
	if !strings.Contains(office, "Records waiting to go up</dt><dd>6</dd>") || !strings.Contains(office, "Lakshmi") {
		t.Fatalf("the office page while offline:\n%s", office)
	}
	g.link.Set(sim.LinkConfig{})
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := g.center.Local.Queue(ctx)
	if q.Pending != 0 {
		t.Fatalf("after the link came back %d records wait", q.Pending)
	}
	for _, id := range ids {
		a, err := g.hub.Dispatch.Assignment(ctx, id)
		if err != nil || a.Answer == nil || a.Answer.Label != "spam" {
			t.Fatalf("answer %s on the hub: %+v %v", id, a.Answer, err)
		}
	}
	// An hour of task time as the center measured it (six answers of ten
	// minutes), within the lease's span on the hub, and no pay (the
	// project has no prices): under the minimum wage. The hub says so, and
	// the center's office shows it after the next sync.
	if err := ledger.WageCheck(ctx, g.hub.Store, g.now(), 5000); err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	office = send(mc, "/center/", nil)
	if !strings.Contains(office, "under the minimum wage of ₹50.00") {
		t.Fatalf("the office page does not warn about the minimum wage:\n%s", office)
	}
}
