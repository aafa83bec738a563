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
	sameAsRoutes(t, documented, "the OpenAPI document (operations in openapi.go)")
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
