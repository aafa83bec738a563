package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/work"
)

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	h := openTestHub(t, nil)
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	p := classifyProject(t, h.Store, client.ID, "p")
	project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 3 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"SECRET-PAYLOAD-%d"}`, i)}, nil) {
				return
			}
		}
	})
	w, _ := h.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, "asha", "worker")
	o, _ := h.Dispatch.Next(ctx, w.ID, "")
	h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 4000})
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
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("the page is not Prometheus text: %v\n%s", err, page)
	}
	// value finds the one sample of a family with the given labels.
	value := func(name string, labels map[string]string) (float64, bool) {
		f := families[name]
		if f == nil {
			return 0, false
		}
	metrics:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			}
		}
		return 0, false
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"banyan_http_request_duration_seconds", map[string]string{"route": "GET /healthz", "code": "2xx"}, 3},
		{"banyan_http_request_duration_seconds", map[string]string{"route": "GET /api/v1/projects/{id}", "code": "4xx"}, 1},
		{"banyan_queue_tasks", map[string]string{"project": p.ID}, 2},
		{"banyan_answers_total", nil, 1},
		{"banyan_aggregation_runs_total", nil, 0},
		{"banyan_ledger_unposted", nil, 0},
	} {
		if got, ok := value(c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v: got %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// The client's own series come along.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("metrics lack %s", name)
		}
	}
	if strings.Contains(page, "SECRET-PAYLOAD") || strings.Contains(page, token) {
		t.Errorf("metrics show a payload or a token")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", page)
	}
}
