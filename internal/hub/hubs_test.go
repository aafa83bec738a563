package hub_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/hub"
	"banyan/internal/testpg"
)

// twoHubs opens two hub processes' handlers on one PostgreSQL database,
// with edit applied to both configurations.
func twoHubs(t *testing.T, edit func(*hub.Config)) ([]*hub.Hub, []string) {
	t.Helper()
	dsn := testpg.Schema(t)
	var hubs []*hub.Hub
	var urls []string
	for range 2 {
		cfg := hub.DefaultConfig()
		cfg.DataDir, cfg.DB = t.TempDir(), dsn
		if edit != nil {
			edit(&cfg)
		}
		h, err := hub.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h.Handler())
		t.Cleanup(func() { srv.Close(); h.Close() })
		hubs, urls = append(hubs, h), append(urls, srv.URL)
	}
	return hubs, urls
}

// Failed sign-ins are counted in the database: five wrong PINs spread over
// two hubs lock the login on both, as five on one hub would.
func TestHubsCountSignInsTogether(t *testing.T) {
	hubs, urls := twoHubs(t, nil)
	ctx := context.Background()
	u, err := hubs[0].Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "Asha", "worker")
	if err != nil {
		t.Fatal(err)
	}
	login, pin, err := hubs[0].Auth.IssuePIN(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(base, secret string) int {
		t.Helper()
		resp, err := noRedirect.PostForm(base+"/desk/signin", url.Values{"login": {login}, "secret": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		if got := try(urls[i%2], wrong); got != http.StatusUnauthorized {
			t.Fatalf("wrong PIN %d: %d, want 401", i, got)
		}
	}
	for i, base := range urls {
		if got := try(base, pin); got != http.StatusTooManyRequests {
			t.Fatalf("the right PIN on hub %d after five wrong ones over both: %d, want 429", i, got)
		}
	}
}

// Each hub enforces its share of the per-token rate limit, so a token that
// calls both gets the burst once in all, not once per hub.
func TestHubsShareTheTokenLimit(t *testing.T) {
	hubs, urls := twoHubs(t, func(c *hub.Config) { c.TokenRate = 5 }) // bursts of 10
	ctx := context.Background()
	for _, h := range append(hubs, hubs[0]) { // the first beats again, to see the second
		if err := h.Beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	token, err := hubs[0].InitAdmin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for i := range 30 {
		req, _ := http.NewRequest("GET", urls[i%2]+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			allowed++
		}
	}
	// A burst of 10 in all, and whatever each hub refills at 2.5 calls a
	// second while the calls are made (a fraction of a second); a limit per
	// hub would have let 20 through at once.
	if allowed < 10 || allowed >= 20 {
		t.Fatalf("%d of 30 quick calls over two hubs allowed, want the burst of 10 in all (and a little refill), not 10 per hub", allowed)
	}
}
