package hub

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/webhook"
)

// lockedBuffer collects log lines from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A hub's logs, at debug level, through uploads good and bad, work,
// refused answers, sign-ins right and wrong, and webhook deliveries,
// hold no task payload, no answer and no secret.
func TestLogsHoldNoPayloadOrSecret(t *testing.T) {
	ctx := context.Background()
	var logs lockedBuffer
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AllowPrivateWebhooks = t.TempDir(), true
	h, err := Open(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(receiver.Close)

	const secretText = "PAYLOAD-SECRET-7781"
	adminToken, err := h.InitAdmin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	clientUser, _ := h.Auth.CreateUser(ctx, client.ID, "cadmin", "client_admin")
	clientToken, _, err := h.Auth.Issue(ctx, clientUser, "test")
	if err != nil {
		t.Fatal(err)
	}
	worker, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "kavya", "worker")
	workerToken, _, _ := h.Auth.Issue(ctx, worker, "desk")
	login, pin, err := h.Auth.IssuePIN(ctx, worker, "")
	if err != nil {
		t.Fatal(err)
	}
	p := classifyProject(t, h.Store, client.ID, "moderation")
	call := func(token, method, path, ctype, body string) (int, map[string]any) {
		return sendJSON(t, srv.URL, token, method, path, ctype, body)
	}
	code, hook := call(clientToken, "POST", "/api/v1/webhooks", "application/json",
		`{"url":"`+receiver.URL+`/hook","events":["result.ready","batch.completed"]}`)
	if code != 201 {
		t.Fatalf("webhook: %d", code)
	}
	hookID := hook["id"].(string)
	hookSecret, _ := hook["secret"].(string)
	if code, _ := call(clientToken, "POST", "/api/v1/projects/"+p.ID+"/batches?name=b", "text/csv", "text\n"+secretText+" one\n"+secretText+" two\n"); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	// A bad file (a row too wide) is refused; its row is not logged.
	call(clientToken, "POST", "/api/v1/projects/"+p.ID+"/batches?name=bad", "text/csv", "text\n\""+secretText+"\",extra\n")
	for range 2 {
		code, off := call(workerToken, "POST", "/api/v1/work/next", "", "")
		if code != 200 {
			t.Fatalf("next: %d", code)
		}
		id := off["assignment_id"].(string)
		call(workerToken, "POST", "/api/v1/assignments/"+id+"/answer", "application/json", `{"answer":{"label":"`+secretText+`"},"duration_ms":3000}`)
		call(workerToken, "POST", "/api/v1/assignments/"+id+"/answer", "application/json", `{"answer":{"label":"spam"},"duration_ms":3000}`)
	}
	// Sign-ins, right and wrong; a token that is no token.
	http.PostForm(srv.URL+"/desk/signin", url.Values{"login": {login}, "secret": {pin}})
	http.PostForm(srv.URL+"/desk/signin", url.Values{"login": {login}, "secret": {"999999"}})
	call("bny_"+secretText, "GET", "/api/v1/me", "", "")
	sender := &webhook.Sender{Queue: h.hooks, Client: webhook.Client(true), Log: h.Log}
	if err := sender.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := h.hooks.Deliveries(ctx, hookID, 10); len(ds) == 0 {
		t.Fatal("no webhook delivery was made")
	}

	out := logs.String()
	t.Logf("%d log lines", strings.Count(out, "\n"))
	if !strings.Contains(out, `"msg"`) {
		t.Fatalf("no log lines were written:\n%s", out)
	}
	for what, s := range map[string]string{"a payload or answer": secretText, "the admin's token": adminToken,
		"the client's token": clientToken, "the worker's token": workerToken, "a PIN": pin, "a wrong PIN": "999999", "the webhook's secret": hookSecret} {
		if s == "" {
			t.Fatalf("%s: empty", what)
		}
		if strings.Contains(out, s) {
			t.Errorf("the logs hold %s (%q):\n%s", what, s, out)
		}
	}
}
