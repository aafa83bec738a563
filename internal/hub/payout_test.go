package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/work"
)

// A village center's payout file: each worker's pay with their UPI
// address, then the center's share.
func TestPayoutFile(t *testing.T) {
	ctx := context.Background()
	h := openTestHub(t, nil)
	st := h.Store
	client, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	p := classifyProject(t, st, client.ID, "p")
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300, CenterShare: 40})
	project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 5 {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"t%d"}`, i)}, nil) {
				return
			}
		}
	})
	center, _, err := h.AddCenter(ctx, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	lakshmi, _ := h.Auth.CreateUser(ctx, center.ID, "Lakshmi", "worker")
	ravi, _ := h.Auth.CreateUser(ctx, center.ID, "Ravi", "worker")
	for i, w := range []auth.User{lakshmi, lakshmi, lakshmi, ravi, ravi} {
		o, err := h.Dispatch.Next(ctx, w.ID, "")
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if _, err := h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: o.WorkID, WorkerID: w.ID, Answer: []byte(`{"label":"ok"}`), ReportedMS: 4000}); err != nil {
			t.Fatal(err)
		}
	}
	token, err := h.InitAdmin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	call := func(method, path, body string) (int, string) {
		ctype := ""
		if body != "" {
			ctype = "application/json"
		}
		code, reply := send(t, srv.URL, token, method, path, ctype, body)
		return code, string(reply)
	}
	if code, body := call("PUT", "/api/v1/users/"+lakshmi.ID+"/payee", `{"upi_id":"lakshmi@okbank"}`); code != 200 {
		t.Fatalf("payee: %d %s", code, body)
	}
	if code, _ := call("PUT", "/api/v1/users/"+ravi.ID+"/payee", `{"upi_id":"not a upi"}`); code != http.StatusUnprocessableEntity {
		t.Errorf("a bad UPI address: %d", code)
	}
	// A bonus sent twice with one key is paid once.
	for i := range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/users/"+ravi.ID+"/bonus",
			strings.NewReader(`{"amount": 2500, "reason": "best accuracy in November", "idempotency_key": "nov-best"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || (i == 1) != (resp.Header.Get("Idempotent-Replay") == "true") {
			t.Fatalf("bonus %d: %d, replay %q", i, resp.StatusCode, resp.Header.Get("Idempotent-Replay"))
		}
	}
	code, body := call("GET", "/api/v1/centers/"+center.ID+"/payout", "")
	if code != 200 {
		t.Fatalf("payout: %d %s", code, body)
	}
	for _, want := range []string{
		"beneficiary_name,upi_id,amount_inr,answers,party_id,remarks",
		"Lakshmi,lakshmi@okbank,9.00,3," + lakshmi.ID,
		"Ravi,,31.00,2," + ravi.ID,
		"Melur,,2.00,5," + center.ID,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("payout file lacks %q:\n%s", want, body)
		}
	}
	if code, body := call("GET", "/api/v1/centers/"+center.ID+"/payout?format=json", ""); code != 200 || !strings.Contains(body, `"missing_upi":2`) {
		t.Errorf("payout JSON: %d %s", code, body)
	}
	// The payee change and the exports are in the audit log, by id only,
	// and the log's chain checks; the refused change is not there.
	code, body = call("GET", "/api/v1/audit?limit=100", "")
	if code != 200 || strings.Count(body, `"action":"PUT /api/v1/users/{id}/payee"`) != 1 ||
		strings.Count(body, `"action":"GET /api/v1/centers/{id}/payout"`) != 2 || strings.Contains(body, "okbank") {
		t.Errorf("audit log: %d %s", code, body)
	}
	rep, err := audit.Verify(ctx, st)
	if err != nil || rep.Problem != "" || rep.Events < 3 {
		t.Errorf("audit chain: %+v %v", rep, err)
	}
}
