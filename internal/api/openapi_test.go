package api_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"banyan/internal/api"
	"banyan/internal/api/apitest"
)

// The document lists exactly the routes the API serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	raw, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	sameAsRoutes(t, documented, "the OpenAPI document (built from the route table's rows)")
}

// Every row of the route table carries what the document says of it: a
// row without a summary, a known tag or its reply is refused.
func TestRoutesCarryOpenAPI(t *testing.T) {
	t.Parallel()
	for _, rt := range (&api.API{}).Routes() {
		if rt.Handle == nil {
			t.Errorf("%s has no handler", rt.Pattern)
		}
		if _, err := api.OpenAPIFor("t", "a", []api.Route{rt}); err != nil {
			t.Errorf("%s: %v", rt.Pattern, err)
		}
	}
	me := api.Route{Pattern: "GET /api/v1/me", Summary: "Who the token belongs to", Tag: "me", Reply: struct{}{}}
	for _, tc := range []struct {
		name   string
		change func(*api.Route)
		want   string // in the error; "" for none
	}{
		{"a documented row", func(*api.Route) {}, ""},
		{"no summary", func(rt *api.Route) { rt.Summary = "" }, "no summary"},
		{"no tag", func(rt *api.Route) { rt.Tag = "" }, "tag"},
		{"a tag the document does not describe", func(rt *api.Route) { rt.Tag = "misc" }, `tag "misc"`},
		{"no reply", func(rt *api.Route) { rt.Reply = nil }, "Reply or Media"},
		{"no reply, and 204", func(rt *api.Route) { rt.Reply, rt.Status = nil, 204 }, ""},
		{"a download", func(rt *api.Route) { rt.Reply, rt.Media = nil, []string{"text/csv"} }, ""},
		{"a failure's status", func(rt *api.Route) { rt.Status = 404 }, "not a success"},
		{"no method", func(rt *api.Route) { rt.Pattern = "/api/v1/me" }, "no method"},
	} {
		rt := me
		tc.change(&rt)
		_, err := api.OpenAPIFor("t", "a", []api.Route{rt})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: got %v, want no error", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := api.OpenAPIFor("t", "a", []api.Route{me, me}); err == nil {
		t.Errorf("a route twice: got no error")
	}
}

// docs/openapi.json is the document the code makes.
func TestOpenAPIFileCurrent(t *testing.T) {
	t.Parallel()
	want, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/openapi.json")
	if err != nil || string(got) != string(want)+"\n" {
		t.Fatalf("docs/openapi.json is not current (%v); run: go run ./cmd/banyan openapi > docs/openapi.json", err)
	}
}

// The checker the API tests use refuses replies that stray from the
// document.
func TestReplyChecker(t *testing.T) {
	t.Parallel()
	c, err := apitest.New()
	if err != nil {
		t.Fatal(err)
	}
	me := `{"user_id":"u","name":"n","org_id":"o","role":"worker","token_id":"t"}`
	for _, tc := range []struct {
		name, method, target, ctype, body string
		status                            int
		ok                                bool
	}{
		{"a good reply", "GET", "/api/v1/me", "application/json", me, 200, true},
		{"a field missing", "GET", "/api/v1/me", "application/json", `{"user_id":"u","name":"n","org_id":"o","role":"worker"}`, 200, false},
		{"a field not documented", "GET", "/api/v1/me", "application/json", me[:len(me)-1] + `,"extra":1}`, 200, false},
		{"a field of the wrong type", "GET", "/api/v1/me", "application/json", `{"user_id":1,"name":"n","org_id":"o","role":"worker","token_id":"t"}`, 200, false},
		{"a status not documented", "GET", "/api/v1/me", "application/json", me, 201, false},
		{"a problem", "GET", "/api/v1/projects/x", "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such project"}`, 404, true},
		{"an error that is not a problem", "GET", "/api/v1/projects/x", "application/json", `{"error":"no"}`, 404, false},
		{"a page", "GET", "/api/v1/projects?limit=2", "application/json", `{"items":[]}`, 200, true},
		{"no work", "POST", "/api/v1/work/next", "", "", 204, true},
		{"a CSV download", "GET", "/api/v1/batches/b/results?format=csv", "text/csv; charset=utf-8", "a,b\n", 200, true},
	} {
		err := c.Check(tc.method, tc.target, tc.status, tc.ctype, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
