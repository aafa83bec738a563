package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banyan/internal/store"
	"banyan/internal/work"
)

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	h := openTestHub(t, nil)
	client, _ := h.Store.CreateOrg(ctx, store.OrgClient, "client")
	p := classifyProject(t, h.Store, client.ID, "p")
	h.Store.CreateBatch(ctx, p, store.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(store.NewTask, error) bool) {
		for i := range 3 {
			if !yield(store.NewTask{Payload: fmt.Appendf(nil, `{"text":"SECRET-PAYLOAD-%d"}`, i)}, nil) {
				return
			}
		}
	})
	w, _ := h.Store.CreateUser(ctx, store.BuiltinCenterOrgID, "asha", "worker")
	o, _ := h.Dispatch.Next(ctx, w.ID, "")
	h.Dispatch.Submit(ctx, w.ID, o.Assignment.ID, []byte(`{"label":"ok"}`), 4000)
	token, _ := h.InitAdmin(ctx, "admin")
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for range 3 {
		http.Get(srv.URL + "/healthz")
	}
	http.Get(srv.URL + "/api/v1/projects/" + p.ID) // 401: no token
	resp, _ := http.Get(srv.URL + "/metrics")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics without a token: %d", resp.StatusCode)
	}
	_, b := send(t, srv.URL, token, "GET", "/metrics", "", "")
	page := string(b)
	for _, want := range []string{
		`banyan_http_request_duration_seconds_count{route="GET /healthz",code="2xx"} 3`,
		`banyan_http_request_duration_seconds_count{route="GET /api/v1/projects/{id}",code="4xx"} 1`,
		`banyan_queue_tasks{project="` + p.ID + `"} 2`,
		"banyan_answers_total 1",
		"# TYPE banyan_aggregation_runs_total counter",
		"banyan_ledger_unposted 0",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(page, "SECRET-PAYLOAD") || strings.Contains(page, token) {
		t.Errorf("metrics show a payload or a token")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", page)
	}
}
