package center

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// The center's document lists exactly the /api/v1 calls it serves.
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
	served := append(slices.Collect(maps.Keys((&Center{}).lanRoutes())), mountedRoutes...)
	served = append(served, "GET /api/v1/openapi.json")
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("the center's document lists\n%s\nit serves\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	own := append(slices.Collect(maps.Keys(ownRoutes)), sameRoutes...)
	slices.Sort(own)
	handlers := slices.Sorted(maps.Keys((&Center{}).lanRoutes()))
	if !slices.Equal(own, handlers) {
		t.Fatalf("handlers of its own: %v; documented as its own or the hub's: %v", handlers, own)
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
