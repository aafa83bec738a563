package center

import (
	"encoding/json"
	"net/http"
	"sync"

	"banyan/internal/api"
	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/uplink"
	"banyan/internal/work"
)

// The center's LAN API: the hub API's worker calls, served from the
// center's store, and a few calls of its own. Its OpenAPI document is
// served at /api/v1/openapi.json like the hub's.

// mountedRoutes are the hub API's routes a center serves with the API's
// own handlers over the center's store.
var mountedRoutes = []string{
	"GET /api/v1/me",
	"POST /api/v1/me/activity", "PUT /api/v1/me/declaration", "GET /api/v1/me/declaration", "DELETE /api/v1/me/declaration",
	"GET /api/v1/courses", "GET /api/v1/courses/{id}", "POST /api/v1/courses/{id}/attempts",
	"GET /api/v1/attempts/{id}", "GET /api/v1/attempts/{id}/next", "POST /api/v1/attempts/{id}/answers",
}

// sameRoutes are hub API routes the center serves with handlers of its
// own, answering as the hub does.
var sameRoutes = []string{
	"POST /api/v1/work/next",
	"POST /api/v1/assignments/{id}/answer",
	"GET /api/v1/assignments/{id}/files/{field}",
}

// ownRoutes are the center's calls the hub does not have.
var ownRoutes = map[string]api.Doc{
	"GET /api/v1/center/status": {Summary: "The center's queue and uplink (its workers and manager)", Tag: "center",
		Status: 200, Reply: Status{}},
	"GET /api/v1/center/review/next": {Summary: "A recent answer of another worker to check (reviewers and the manager)", Tag: "center",
		Status: 200, Reply: ReviewItem{}, Idle: true},
	"POST /api/v1/center/reviews": {Summary: "A verdict on another worker's answer, to go up to the hub", Tag: "center",
		Body: ReviewIn{}, Status: 201, Reply: api.Created{}},
}

// OpenAPI is the document of a center's LAN API.
func OpenAPI() ([]byte, error) {
	return api.OpenAPIFor("Banyan village center API",
		"A village center's API on its LAN: the hub API's calls for workers, answered from the center's own store while the uplink is down, and the center's own calls.",
		append(append([]string{}, mountedRoutes...), sameRoutes...), ownRoutes)
}

// Status is the center's queue and uplink.
type Status struct {
	CenterID string             `json:"center_id"`
	Queue    store.CenterStatus `json:"queue"`
	Uplink   uplink.SyncState   `json:"uplink"`
}

// ReviewItem is an answer of another worker for a center reviewer to check.
type ReviewItem struct {
	AssignmentID string          `json:"assignment_id"`
	Payload      json.RawMessage `json:"payload"`
	Answer       work.Answer     `json:"answer"`
	Project      api.TaskProject `json:"project"`
}

// ReviewIn is a reviewer's verdict: agree, or disagree with a corrected
// answer, and a note.
type ReviewIn struct {
	AssignmentID string          `json:"assignment_id"`
	Verdict      string          `json:"verdict"`
	Answer       json.RawMessage `json:"answer"`
	Note         string          `json:"note"`
}

// document is the center's document, made once: it depends only on the
// code.
var document = sync.OnceValues(OpenAPI)

// openAPIDoc serves the center's document; it needs no token.
func (c *Center) openAPIDoc(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	doc, err := document()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(doc)
	return err
}
