package center_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/sim"
)

// deskUser is a person signed in to the center's web desk.
type deskUser struct {
	g      *rig
	client *http.Client
}

// signIn signs a person of the center in to its web desk: a worker with a
// PIN, anyone else with a password.
func (g *rig) signIn(u auth.User) *deskUser {
	g.t.Helper()
	issue := g.center.Auth.IssuePassword
	if u.Role == string(auth.Worker) {
		issue = g.center.Auth.IssuePIN
	}
	login, secret, err := issue(context.Background(), u, "")
	if err != nil {
		g.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	d := &deskUser{g: g, client: &http.Client{Jar: jar}}
	resp, err := d.client.PostForm(g.desk.URL+"/desk/signin", url.Values{"login": {login}, "secret": {secret}})
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	return d
}

// page fetches a page of the center's desk and returns its status and
// body.
func (d *deskUser) page(path string) (int, string) {
	d.g.t.Helper()
	resp, err := d.client.Get(d.g.desk.URL + path)
	if err != nil {
		d.g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// earnings is the worker's earnings page, which must be served.
func (d *deskUser) earnings() string {
	d.g.t.Helper()
	status, page := d.page("/desk/earnings")
	if status != http.StatusOK {
		d.g.t.Fatalf("/desk/earnings: got %d, want 200\n%s", status, page)
	}
	return page
}

// hubDay is how the earnings page names the day of t, in English.
func hubDay(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%d %s %d", t.Day(), t.Month().String()[:3], t.Year())
}

const mayBeOld = "They may be out of date"

// A village center's workers see on the center's desk the statement the
// hub computed of them: their answers, accepted and paid on the hub, show
// once the center has pulled its feed; each worker sees their own; with
// the hub out of reach the page keeps the last figures with the hub's
// date of them; a worker's statement goes down at most once an interval
// however much changes; and a reset of the feed brings every statement as
// it stands.
func TestCenterDeskShowsHubsStatement(t *testing.T) {
	t.Parallel()
	// The center's clock is three days behind the hub's: the page's date
	// must be the hub's.
	g := newRigShifted(t, 4, -72*time.Hour)
	ctx := context.Background()
	if _, err := ledger.SetRateCard(ctx, g.hub.Store, ledger.RateCard{ProjectID: g.proj.ID, ClientPrice: 2000, WorkerPay: 1250}); err != nil {
		t.Fatal(err)
	}
	asha, ashaTok, err := g.center.EnrolWorker(ctx, "Asha")
	if err != nil {
		t.Fatal(err)
	}
	bala, balaTok, err := g.center.EnrolWorker(ctx, "Bala")
	if err != nil {
		t.Fatal(err)
	}
	manager, _, err := g.center.AddPerson(ctx, "Manju", auth.CenterManager)
	if err != nil {
		t.Fatal(err)
	}
	a, b := g.signIn(asha), g.signIn(bala)
	if _, home := a.page("/desk/"); !strings.Contains(home, `href="/desk/earnings"`) {
		t.Fatalf("the center's home page does not lead to the earnings page:\n%s", home)
	}
	if page := a.earnings(); !strings.Contains(page, "have not come from the hub yet") {
		t.Fatalf("before the center first reached the hub, the page says:\n%s", page)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// Both answer the four tasks alike (two answers settle each), and the
	// hub gives Bala a bonus besides.
	if n := g.work(ashaTok, "spam"); n != 4 {
		t.Fatalf("Asha answered %d tasks, want 4", n)
	}
	if n := g.work(balaTok, "spam"); n != 4 {
		t.Fatalf("Bala answered %d tasks, want 4", n)
	}
	if _, err := ledger.Bonus(ctx, g.hub.Store, bala.ID, 777, "bala-first-week"); err != nil {
		t.Fatal(err)
	}
	synced := g.now()
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	g.check()
	hubDate, centerDate := hubDay(synced), hubDay(synced.Add(-72*time.Hour))

	tests := []struct {
		name    string
		page    string
		want    []string
		wantNot []string
	}{
		{"Asha's own", a.earnings(), []string{"₹50.00", hubDate, mayBeOld}, []string{"₹57.77", centerDate}},
		{"Bala's own", b.earnings(), []string{"₹57.77", hubDate, mayBeOld}, []string{"₹50.00", centerDate}},
	}
	for _, tc := range tests {
		for _, w := range tc.want {
			if !strings.Contains(tc.page, w) {
				t.Errorf("%s page: got no %q, want it\n%s", tc.name, w, tc.page)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(tc.page, w) {
				t.Errorf("%s page: got %q, want it absent\n%s", tc.name, w, tc.page)
			}
		}
	}
	// The hub lets only workers see the desk's statement; so does the
	// center.
	if status, _ := g.signIn(manager).page("/desk/earnings"); status != http.StatusForbidden {
		t.Errorf("the center manager on /desk/earnings: got %d, want 403", status)
	}

	// The hub pays Asha more while the center cannot reach it: the page
	// keeps the last figures and their date, and says they may be old.
	if _, err := ledger.Bonus(ctx, g.hub.Store, asha.ID, 500, "asha-late-fix"); err != nil {
		t.Fatal(err)
	}
	g.link.Set(sim.LinkConfig{Down: true})
	if err := g.center.Sync.Once(ctx); err == nil {
		t.Fatal("a sync with the link down succeeded")
	}
	offline := a.earnings()
	for _, w := range []string{"₹50.00", hubDate, mayBeOld} {
		if !strings.Contains(offline, w) {
			t.Errorf("offline page: got no %q, want it\n%s", w, offline)
		}
	}

	// Back online within the interval: Asha's statement went down moments
	// ago, so the new bonus waits for the next one.
	g.link.Set(sim.LinkConfig{})
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if page := a.earnings(); !strings.Contains(page, "₹50.00") || strings.Contains(page, "₹55.00") {
		t.Errorf("a second statement within the interval reached the center:\n%s", page)
	}
	// A feed reset (a cursor the hub never gave) brings every worker's
	// statement as it stands now.
	if err := g.center.Local.ApplyFeed(ctx, nil, 1<<40, false); err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if page := a.earnings(); !strings.Contains(page, "₹55.00") || !strings.Contains(page, hubDate) {
		t.Errorf("after a feed reset, Asha's page: got no ₹55.00 as of %s\n%s", hubDate, page)
	}
	if page := b.earnings(); !strings.Contains(page, "₹57.77") {
		t.Errorf("after a feed reset, Bala's page: got no ₹57.77\n%s", page)
	}
}
