package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

func TestWebhookAddressesRefused(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "http://192.168.0.4/"} {
		if err := webhook.CheckURL(ctx, u, false); err == nil {
			t.Errorf("%s was allowed", u)
		}
	}
	for _, u := range []string{"ftp://example.org/x", "https://user:pw@example.org/x", "not a url"} {
		if err := webhook.CheckURL(ctx, u, true); err == nil {
			t.Errorf("%s was allowed", u)
		}
	}
	// The dialer refuses a private address even if the name looked public.
	c := webhook.Client(false)
	if _, err := c.Get("http://127.0.0.1:9/"); !errors.Is(err, webhook.ErrPrivateTarget) {
		t.Errorf("dialing loopback: %v", err)
	}
}

// A client subscribes; results and the batch's completion are delivered
// signed; a failed delivery is kept for a retry; a test ping goes at once.
func TestWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	fail := true
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, b)
		if fail {
			fail = false
			http.Error(w, "down for a moment", http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	h := openTestHub(t, func(c *Config) { c.AllowPrivateWebhooks = true })
	st := h.Store
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	admin, _ := h.Auth.CreateUser(ctx, client.ID, "rekha", "client_admin")
	token, _, _ := h.Auth.Issue(ctx, admin, "t")
	p := classifyProject(t, st, client.ID, "p")
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	call := func(method, path, body string) (int, map[string]any) {
		return sendJSON(t, srv.URL, token, method, path, "application/json", body)
	}
	code, sub := call("POST", "/api/v1/webhooks", `{"url": "`+recv.URL+`/hook", "events": ["result.ready", "batch.completed"]}`)
	if code != 201 || !strings.HasPrefix(fmt.Sprint(sub["secret"]), "whsec_") {
		t.Fatalf("subscribe: %d %v", code, sub)
	}
	secret, hookID := sub["secret"].(string), sub["id"].(string)
	if code, out := call("POST", "/api/v1/webhooks", `{"url": "`+recv.URL+`", "events": ["result.maybe"]}`); code != 422 {
		t.Errorf("an unknown event: %d %v", code, out)
	}
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 2 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	})
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	for range 2 {
		o, _ := h.Dispatch.Next(ctx, w.ID, "")
		h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"spam"}`), ReportedMS: 4000})
	}
	sender := &webhook.Sender{Queue: h.hooks, Client: webhook.Client(true), Log: h.Log}
	if err := sender.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 3 {
		t.Fatalf("%d deliveries sent, want 2 results and the batch's completion", len(got))
	}
	mu.Unlock()
	// The first was refused: it waits for its retry, not lost.
	ds, _ := h.hooks.Deliveries(ctx, hookID, 10)
	var retry webhook.Delivery
	for _, d := range ds {
		if d.State == "pending" {
			retry = d
		}
	}
	if retry.ID == "" || retry.Attempts != 1 || retry.LastStatus != 503 {
		t.Fatalf("deliveries: %+v", ds)
	}
	if d, err := sender.Deliver(ctx, retry); err != nil || d.State != "delivered" {
		t.Fatalf("retry: %+v %v", d, err)
	}
	// Every request is signed over its time and body.
	mu.Lock()
	events := map[string]int{}
	for i, r := range got {
		sig := r.Header.Get("Banyan-Signature")
		var ts int64
		fmt.Sscanf(sig, "t=%d,", &ts)
		if want := webhook.Sign(secret, time.Unix(ts, 0), bodies[i]); sig != want || r.Header.Get("Banyan-Delivery") == "" {
			t.Errorf("request %d: signature %q, want %q", i, sig, want)
		}
		events[r.Header.Get("Banyan-Event")]++
	}
	mu.Unlock()
	if events["result.ready"] != 3 || events["batch.completed"] != 1 {
		t.Errorf("events sent: %v (one result.ready twice: refused, then retried)", events)
	}
	if code, out := call("POST", "/api/v1/webhooks/"+hookID+"/test", ""); code != 200 || out["state"] != "delivered" || out["event"] != "ping" {
		t.Errorf("test: %d %v", code, out)
	}
	if code, out := call("GET", "/api/v1/webhooks/"+hookID+"/deliveries", ""); code != 200 || len(out["items"].([]any)) != 4 {
		t.Errorf("delivery log: %d %v", code, out)
	}
	// Another client cannot see or test this subscription.
	other, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "other")
	oa, _ := h.Auth.CreateUser(ctx, other.ID, "omar", "client_admin")
	token, _, _ = h.Auth.Issue(ctx, oa, "t")
	if code, _ := call("POST", "/api/v1/webhooks/"+hookID+"/test", ""); code != 404 {
		t.Errorf("another client testing it: %d", code)
	}
}

// Two clients, each subscribed to every event: a client's results,
// batches and failures reach its own URL only, and no body sent to one
// carries the other's task text, ids or names.
func TestWebhooksStayWithTheirClient(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	bodies := map[string][]string{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = append(bodies[r.URL.Path], string(b))
		mu.Unlock()
	}))
	defer recv.Close()
	h := openTestHub(t, func(c *Config) { c.AllowPrivateWebhooks = true })
	st := h.Store
	events := []string{webhook.EventResultReady, webhook.EventBatchCompleted, webhook.EventTaskFailed}
	type side struct {
		client  auth.Org
		project work.Project
		batches []work.Batch
	}
	sides := map[string]*side{}
	for _, name := range []string{"A", "B"} {
		c, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client "+name)
		if _, err := h.hooks.Create(ctx, c.ID, recv.URL+"/"+name, events); err != nil {
			t.Fatal(err)
		}
		p := classifyProject(t, st, c.ID, "project MARKER-"+name)
		s := &side{client: c, project: p}
		for _, b := range []string{"done", "cancelled"} {
			batch, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: b + " MARKER-" + name, Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
				yield(project.NewTask{ExternalID: "ext-MARKER-" + name, Payload: []byte(`{"text":"text MARKER-` + name + `"}`)}, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			s.batches = append(s.batches, batch)
		}
		sides[name] = s
	}
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	for _, name := range []string{"A", "B"} {
		asg, task, err := h.Dispatch.Claim(ctx, w.ID, sides[name].project.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if task.BatchID != sides[name].batches[0].ID {
			t.Fatalf("client %s: the worker got a task of batch %s, want the older batch %s", name, task.BatchID, sides[name].batches[0].ID)
		}
		h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: asg.ID, WorkerID: w.ID, Answer: []byte(`{"label":"spam"}`), ReportedMS: 4000})
		if _, err := h.Dispatch.CancelBatch(ctx, sides[name].batches[1].ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sides {
		for _, b := range s.batches {
			if _, err := project.Batch(ctx, st, b.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	sender := &webhook.Sender{Queue: h.hooks, Client: webhook.Client(true), Log: h.Log}
	if err := sender.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for name, other := range map[string]string{"A": "B", "B": "A"} {
		got := bodies["/"+name]
		if len(got) < 2 {
			t.Fatalf("client %s received %d deliveries, want its result.ready and task.failed at least", name, len(got))
		}
		own := 0
		for _, b := range got {
			if strings.Contains(b, "MARKER-"+name) {
				own++
			}
			for _, foreign := range []string{"MARKER-" + other, sides[other].project.ID, sides[other].batches[0].ID, sides[other].batches[1].ID} {
				if strings.Contains(b, foreign) {
					t.Errorf("a delivery to client %s carries client %s's %q: %s", name, other, foreign, b)
				}
			}
		}
		if own == 0 {
			t.Errorf("no delivery to client %s names its own task", name)
		}
	}
}
