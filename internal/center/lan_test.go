package center

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"banyan/internal/api"
)

// The center's document lists exactly the /api/v1 calls it serves, and
// its LAN surface routes each of them to its own row.
func TestCenterOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	c := &Center{}
	viaAPI, own := c.lanRoutes(&api.API{})
	var served []string
	for _, rt := range append(viaAPI, own...) {
		served = append(served, rt.Pattern)
		if rt.Handle == nil {
			t.Errorf("%s has no handler", rt.Pattern)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("the center's document lists\n%s\nit serves\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	mux := c.Handler().(*http.ServeMux)
	param := regexp.MustCompile(`\{\w+\}`)
	for _, p := range served {
		method, path, _ := strings.Cut(p, " ")
		_, got := mux.Handler(httptest.NewRequest(method, param.ReplaceAllString(path, "x"), nil))
		if got != p {
			t.Errorf("%s is served by %q", p, got)
		}
	}

	// The center's own handlers answer exactly its own calls and the
	// hub's calls fromHub gives a handler.
	var wantOwn []string
	hub := map[string]bool{}
	for _, rt := range (&api.API{}).Routes() {
		hub[rt.Pattern] = true
	}
	for p, h := range c.fromHub() {
		if h != nil {
			wantOwn = append(wantOwn, p)
		}
	}
	for _, rt := range c.ownRoutes() {
		if hub[rt.Pattern] {
			t.Errorf("%s is the hub's: name it in fromHub", rt.Pattern)
		}
		wantOwn = append(wantOwn, rt.Pattern)
	}
	var gotOwn []string
	for _, rt := range own {
		gotOwn = append(gotOwn, rt.Pattern)
	}
	slices.Sort(wantOwn)
	slices.Sort(gotOwn)
	if !slices.Equal(gotOwn, wantOwn) {
		t.Fatalf("handlers of its own: %v; documented as its own or the hub's: %v", gotOwn, wantOwn)
	}
}

// docs/openapi-center.json is the document the code makes.
func TestCenterOpenAPIFileCurrent(t *testing.T) {
	want, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/openapi-center.json")
	if err != nil || string(got) != string(want)+"\n" {
		t.Fatalf("docs/openapi-center.json is not current (%v); run: go run ./cmd/banyan openapi --center > docs/openapi-center.json", err)
	}
}

// A worker at a center takes tasks, answers and fetches files through the
// same handlers as a worker at the hub, served with the API's checks; only
// the Desk differs: the center's local store, where the hub has its
// dispatcher.
func TestCenterAnswersThroughTheAPIsHandlers(t *testing.T) {
	c := &Center{Local: &Local{}}
	a := c.lanAPI()
	if d, ok := a.Desk.(*Local); !ok || d != c.Local {
		t.Fatalf("the center's API answers through %T, want the center's local store", a.Desk)
	}
	hub := map[string]uintptr{}
	for _, rt := range (&api.API{}).Routes() {
		hub[rt.Pattern] = reflect.ValueOf(rt.Handle).Pointer()
	}
	viaAPI, own := c.lanRoutes(a)
	served := map[string]uintptr{}
	for _, rt := range viaAPI {
		served[rt.Pattern] = reflect.ValueOf(rt.Handle).Pointer()
	}
	for _, rt := range own {
		served[rt.Pattern] = 0
	}
	for _, p := range []string{"POST /api/v1/work/next", "POST /api/v1/assignments/{id}/answer", "GET /api/v1/assignments/{id}/files/{field}"} {
		if got, ok := served[p]; !ok || got != hub[p] {
			t.Errorf("%s: the center serves it with a handler of its own or not at all, want the API's", p)
		}
	}
}
