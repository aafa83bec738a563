package center_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banyan/internal/api/apitest"
	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/feed"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/sim"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

type rig struct {
	t      testing.TB
	hub    *hub.Hub
	link   *sim.Link
	center *center.Center
	desk   *httptest.Server
	proj   work.Project
	// oracle holds every answer a worker was told was saved.
	oracle map[string]string
	// skipped is time the test jumps both clocks forward by (see skip).
	skipped atomic.Int64
}

// now is the rig's clock: the real one, plus any time skipped.
func (g *rig) now() time.Time { return time.Now().Add(time.Duration(g.skipped.Load())) }

// skip moves the hub's and the center's clocks forward by d together, as
// if d passed.
func (g *rig) skip(d time.Duration) { g.skipped.Add(int64(d)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRig(t *testing.T, tasks int) *rig {
	t.Helper()
	return newRigShifted(t, tasks, 0)
}

// newRigShifted runs the center with its clock shifted from the hub's.
func newRigShifted(t testing.TB, tasks int, shift time.Duration) *rig {
	t.Helper()
	g := startHub(t)
	ctx := context.Background()
	c, _ := g.hub.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, g.hub.Store, work.Project{ClientID: c.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 2, MaxOverlap: 3, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5}})
	if err != nil {
		t.Fatal(err)
	}
	g.proj = p
	_, err = project.CreateBatch(ctx, g.hub.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range tasks {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"post %d"}`, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	g.startCenter(shift, nil)
	return g
}

// startHub starts a hub and a link to it.
func startHub(t testing.TB) *rig {
	t.Helper()
	g := &rig{t: t, oracle: map[string]string{}}
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Now = g.now
	h, err := hub.Open(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	link, err := sim.NewLink(strings.TrimPrefix(srv.URL, "http://"), sim.LinkConfig{Latency: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	g.hub, g.link = h, link
	return g
}

// startCenter enrols a center at the hub and starts it behind the link;
// edit, if set, changes its config first.
func (g *rig) startCenter(shift time.Duration, edit func(*center.Config)) {
	t := g.t
	t.Helper()
	ctx := context.Background()
	_, token, err := g.hub.AddCenter(ctx, "village")
	if err != nil {
		t.Fatal(err)
	}
	ccfg := center.DefaultConfig()
	ccfg.HubURL, ccfg.Token, ccfg.DataDir, ccfg.Addr, ccfg.Ahead = "http://"+g.link.Addr(), token, t.TempDir(), "127.0.0.1:0", 10
	ccfg.Now = func() time.Time { return g.now().Add(shift) }
	if edit != nil {
		edit(&ccfg)
	}
	cen, err := center.Open(ctx, ccfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cen.Sync.Client.HTTP.Timeout = 2 * time.Second
	desk := httptest.NewServer(cen.Handler())
	t.Cleanup(func() { desk.Close(); cen.Close() })
	g.center, g.desk = cen, desk
}

func (g *rig) call(token, method, path string, body any) (int, map[string]any) {
	g.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, g.desk.URL+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	g.checkReply(method, path, resp, data)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

var (
	lanDocOnce sync.Once
	lanDoc     *apitest.Checker
	lanDocErr  error
)

// checkReply checks a reply of the center's LAN API against its OpenAPI
// document.
func (g *rig) checkReply(method, path string, resp *http.Response, body []byte) {
	g.t.Helper()
	lanDocOnce.Do(func() {
		raw, err := center.OpenAPI()
		if err != nil {
			lanDocErr = err
			return
		}
		lanDoc, lanDocErr = apitest.NewFor(raw)
	})
	if lanDocErr != nil {
		g.t.Fatal(lanDocErr)
	}
	if err := lanDoc.Check(method, path, resp.StatusCode, resp.Header.Get("Content-Type"), body); err != nil {
		g.t.Error(err)
	}
}

// work has a worker answer every task the center offers them, recording
// each answer the center said was saved.
func (g *rig) work(token, label string) int {
	g.t.Helper()
	n := 0
	for {
		status, off := g.call(token, "POST", "/api/v1/work/next", nil)
		if status == http.StatusNoContent {
			return n
		}
		if status != 200 {
			g.t.Fatalf("next: %d %v", status, off)
		}
		id := off["assignment_id"].(string)
		status, out := g.call(token, "POST", "/api/v1/assignments/"+id+"/answer", map[string]any{"answer": map[string]string{"label": label}, "duration_ms": 3000})
		if status != 200 || out["status"] != "accepted" {
			g.t.Fatalf("answer: %d %v", status, out)
		}
		g.oracle[id] = label
		n++
	}
}

// check holds the hub to the oracle: every saved answer exactly once,
// nothing else.
func (g *rig) check() {
	g.t.Helper()
	ctx := context.Background()
	for id, label := range g.oracle {
		a, err := g.hub.Dispatch.Assignment(ctx, id)
		if err != nil {
			g.t.Fatalf("answer %s the worker was told was saved is not on the hub: %v", id, err)
		}
		if a.Answer == nil || a.Answer.Label != label {
			g.t.Fatalf("answer %s on the hub: %+v, want %s", id, a.Answer, label)
		}
	}
	var n int
	res, _ := project.Results(ctx, g.hub.Store, project.ResultScope{ProjectID: g.proj.ID}, store.Page{Limit: 1000})
	for _, r := range res {
		n += r.Answers
	}
	if n != len(g.oracle) {
		g.t.Fatalf("the hub's results rest on %d answers; the workers saved %d", n, len(g.oracle))
	}
}

// Workers keep working while the link is down; when it comes back every
// saved answer reaches the hub exactly once, even through a cut in the
// middle of an upload and a reply lost after the hub stored a chunk.
func TestCenterWorksOfflineAndLosesNothing(t *testing.T) {
	t.Parallel()
	g := newRig(t, 6)
	ctx := context.Background()
	_, tok1, err := g.center.EnrolWorker(ctx, "lakshmi")
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, _ := g.center.EnrolWorker(ctx, "ravi")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	q, _ := g.center.Local.Queue(ctx)
	if q.ActiveGrants != 6 || q.Pending != 0 {
		t.Fatalf("after the first sync: %+v; want all 6 tasks leased and the enrolments sent", q)
	}
	// The link goes down; the workers carry on.
	g.link.Set(sim.LinkConfig{Down: true})
	if n := g.work(tok1, "spam"); n != 6 {
		t.Fatalf("worker 1 did %d tasks offline, want 6", n)
	}
	if err := g.center.Sync.Once(ctx); err == nil {
		t.Fatalf("sync with the link down: got nil error")
	}
	if st := g.center.Sync.State(); st.Online || st.LastError == "" {
		t.Fatalf("uplink state while down: %+v", st)
	}
	// Small chunks, and the link cuts every connection after 600 bytes:
	// each attempt gets at most part of the way.
	g.center.Sync.Chunk = 2
	g.link.Set(sim.LinkConfig{CutAfter: 600})
	for range 3 {
		g.center.Sync.Once(ctx)
	}
	// A reply lost after the hub stored a chunk: the retry must get
	// "duplicate", not a second copy.
	g.link.Set(sim.LinkConfig{})
	lost := &dropOneReply{next: http.DefaultTransport, path: "/uplink/v1/upload"}
	g.center.Sync.Client.HTTP.Transport = lost
	if err := g.center.Sync.Once(ctx); err == nil {
		t.Fatalf("sync with a lost reply: got nil error")
	}
	g.center.Sync.Client.HTTP.Transport = http.DefaultTransport
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatalf("sync after the link came back: %v", err)
	}
	if n := g.work(tok2, "spam"); n != 6 {
		t.Fatalf("worker 2 did %d tasks, want 6", n)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ = g.center.Local.Queue(ctx)
	if q.Pending != 0 {
		t.Fatalf("outbox still holds %d records", q.Pending)
	}
	g.check()
	res, _ := project.Results(ctx, g.hub.Store, project.ResultScope{ProjectID: g.proj.ID}, store.Page{Limit: 100})
	if len(res) != 6 {
		t.Fatalf("the hub delivered %d results, want 6", len(res))
	}
	links, _ := report.CenterLinks(ctx, g.hub.Store, store.Page{Limit: 10})
	var seen bool
	for _, l := range links {
		if l.ID == g.center.ID {
			seen = true
			if l.LastContact == nil || l.Answers != 12 || l.Backlog != 0 || l.Protocol != wire.Protocol {
				t.Fatalf("the hub's view of the center: %+v", l)
			}
		}
	}
	if !seen {
		t.Fatalf("the hub does not list the center")
	}
}

// dropOneReply lets one request through to the hub and loses its reply.
type dropOneReply struct {
	next http.RoundTripper
	path string
	mu   sync.Mutex
	done bool
}

func (d *dropOneReply) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil && !d.done && r.URL.Path == d.path {
		d.done = true
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("reply lost on the way back")
	}
	return resp, err
}

func TestCenterNeedsTheHubOnlyOnce(t *testing.T) {
	t.Parallel()
	g := newRig(t, 1)
	ctx := context.Background()
	cfg := g.center.Config
	g.center.Close()
	g.link.Set(sim.LinkConfig{Down: true})
	again, err := center.Open(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("restart offline: %v", err)
	}
	defer again.Close()
	if again.ID != g.center.ID {
		t.Fatalf("center id after restart: %s, want %s", again.ID, g.center.ID)
	}
	cfg.DataDir = t.TempDir()
	if _, err := center.Open(ctx, cfg, quiet); err == nil || !strings.Contains(err.Error(), "first start") {
		t.Fatalf("a first start offline: got %v, want an error saying the hub is needed", err)
	}
}

// A center whose clock is three days fast or slow works and syncs the
// same: leases run out by the span the hub granted, not by wall time.
func TestCenterClockShift(t *testing.T) {
	t.Parallel()
	for _, shift := range []time.Duration{72 * time.Hour, -72 * time.Hour} {
		t.Run(shift.String(), func(t *testing.T) {
			t.Parallel()
			g := newRigShifted(t, 4, shift)
			ctx := context.Background()
			_, tok1, _ := g.center.EnrolWorker(ctx, "a")
			_, tok2, _ := g.center.EnrolWorker(ctx, "b")
			if err := g.center.Sync.Once(ctx); err != nil {
				t.Fatal(err)
			}
			if n := g.work(tok1, "ok") + g.work(tok2, "ok"); n != 8 {
				t.Fatalf("%d answers with the clock %s off, want 8", n, shift)
			}
			if err := g.center.Sync.Once(ctx); err != nil {
				t.Fatal(err)
			}
			g.check()
		})
	}
}

// faulty fails one call to one uplink path, in one way: the request never
// reaches the hub, or it does and the reply is lost, or the body is cut
// halfway.
type faulty struct {
	next http.RoundTripper
	path string
	mode string
	mu   sync.Mutex
	done bool
}

func (f *faulty) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	hit := !f.done && strings.HasPrefix(r.URL.Path, f.path)
	if hit {
		f.done = true
	}
	f.mu.Unlock()
	if !hit {
		return f.next.RoundTrip(r)
	}
	switch f.mode {
	case "request lost":
		return nil, errors.New("request lost on the way")
	case "body cut":
		body, _ := io.ReadAll(r.Body)
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body[:len(body)/2]))
		r2.ContentLength = int64(len(body) / 2)
		resp, err := f.next.RoundTrip(r2)
		if err == nil {
			resp.Body.Close()
		}
		return nil, errors.New("connection cut mid-body")
	}
	resp, err := f.next.RoundTrip(r)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil, errors.New("reply lost on the way back")
}

// A cut at every boundary of every call — the request lost, the reply
// lost after the hub acted, the body cut halfway — and then a clean
// round: nothing the workers saved is lost or doubled, and no task is left
// reserved for a lease the center never got.
func TestCutAtEveryBoundary(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/uplink/v1/hello", "/uplink/v1/leases", "/uplink/v1/heartbeat", "/uplink/v1/upload", "/uplink/v1/feed"} {
		for _, mode := range []string{"request lost", "reply lost", "body cut"} {
			t.Run(path+" "+mode, func(t *testing.T) {
				t.Parallel()
				g := newRig(t, 4)
				ctx := context.Background()
				_, tok1, _ := g.center.EnrolWorker(ctx, "a")
				_, tok2, _ := g.center.EnrolWorker(ctx, "b")
				// One clean round to lease, then half the work, so every call
				// has something to carry.
				if err := g.center.Sync.Once(ctx); err != nil {
					t.Fatal(err)
				}
				g.work(tok1, "spam")
				g.center.Sync.Client.HTTP.Transport = &faulty{next: http.DefaultTransport, path: path, mode: mode}
				g.center.Sync.Once(ctx)
				g.center.Sync.Client.HTTP.Transport = http.DefaultTransport
				for range 3 {
					if err := g.center.Sync.Once(ctx); err != nil {
						t.Fatalf("clean round: %v", err)
					}
				}
				g.work(tok2, "spam")
				if err := g.center.Sync.Once(ctx); err != nil {
					t.Fatal(err)
				}
				g.check()
				var reserved int
				res, _ := project.Results(ctx, g.hub.Store, project.ResultScope{ProjectID: g.proj.ID}, store.Page{Limit: 100})
				if len(res) != 4 {
					t.Fatalf("%d of 4 tasks settled", len(res))
				}
				links, _ := report.CenterLinks(ctx, g.hub.Store, store.Page{Limit: 10})
				for _, l := range links {
					reserved += l.LeasedTasks
				}
				if reserved != 0 {
					t.Fatalf("%d leases still active after every task settled", reserved)
				}
			})
		}
	}
}

// A worker suspended on the hub stops getting that skill's tasks at the
// center after its next sync; a center whose feed cursor the hub never gave
// resyncs from a full snapshot.
func TestSuspensionReachesTheCenter(t *testing.T) {
	t.Parallel()
	g := newRig(t, 6)
	ctx := context.Background()
	u, tok, _ := g.center.EnrolWorker(ctx, "ravi")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != 200 {
		t.Fatalf("before the suspension: %d", status)
	}
	if err := training.Suspend(ctx, g.hub.Store, u.ID, "classify", "en", "copied answers"); err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// The task in hand expires or is answered; a new one is not offered.
	g.center.Local.Save(ctx, mustWork(t, g, tok), u.ID, work.Answer{Label: "ok"}, 3000)
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("after the suspension reached the center: %d, want 204", status)
	}
	// A cursor from a hub restored from an older backup: full resync.
	if err := g.center.Local.ApplyFeed(ctx, nil, 1<<40, false); err != nil {
		t.Fatal(err)
	}
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("after a resync: %d, want 204", status)
	}
	if c, _ := feed.Cursor(ctx, g.center.Store); c >= 1<<40 {
		t.Fatalf("the cursor was not reset: %d", c)
	}
}

// mustWork returns the id of the work the worker holds.
func mustWork(t *testing.T, g *rig, tok string) string {
	t.Helper()
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("no work in hand: %d", status)
	}
	return off["assignment_id"].(string)
}
