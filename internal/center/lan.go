package center

import (
	"encoding/json"
	"net/http"
	"sync"

	"banyan/internal/api"
	"banyan/internal/auth"
	"banyan/internal/uplink"
	"banyan/internal/work"
)

// The center's LAN API is derived from the hub API's route table: the
// hub's rows a center serves (fromHub), with the API's own handlers over
// the center's store, and the center's own calls (ownRoutes). Its OpenAPI
// document is built from the same rows and served at /api/v1/openapi.json
// like the hub's.

// fromHub names the hub API's routes a center serves, each with the
// center's own handler or, nil, the API's. The API's handlers serve
// training, qualification, the worker's own records, and the worker's
// tasks, answers and files, which they take from and give to the center's
// local store (the API's Desk, see lanAPI): courses come down the feed,
// and every answer, active span and declaration goes up through the
// outbox. Only the document is the center's own: it lists the center's
// calls.
func (c *Center) fromHub() map[string]api.HandlerFunc {
	return map[string]api.HandlerFunc{
		"GET /api/v1/openapi.json":                   c.openAPIDoc,
		"GET /api/v1/me":                             nil,
		"POST /api/v1/me/activity":                   nil,
		"PUT /api/v1/me/declaration":                 nil,
		"GET /api/v1/me/declaration":                 nil,
		"DELETE /api/v1/me/declaration":              nil,
		"GET /api/v1/courses":                        nil,
		"GET /api/v1/courses/{id}":                   nil,
		"POST /api/v1/courses/{id}/attempts":         nil,
		"GET /api/v1/attempts/{id}":                  nil,
		"GET /api/v1/attempts/{id}/next":             nil,
		"POST /api/v1/attempts/{id}/answers":         nil,
		"POST /api/v1/work/next":                     nil,
		"POST /api/v1/assignments/{id}/answer":       nil,
		"GET /api/v1/assignments/{id}/files/{field}": nil,
	}
}

// ownRoutes are the center's calls the hub does not have.
func (c *Center) ownRoutes() []api.Route {
	return []api.Route{
		{Pattern: "GET /api/v1/center/status", Handle: c.status, Summary: "The center's queue and uplink (its workers and manager)", Tag: "center", Reply: Status{}},
		{Pattern: "GET /api/v1/center/review/next", Handle: c.reviewNext, Summary: "What to check next: a task the hub sent for a blind audit (reviewers), else a recent answer of another worker (reviewers and the manager)", Tag: "center", Reply: ReviewItem{}, Idle: true},
		{Pattern: "POST /api/v1/center/reviews", Handle: c.review, Summary: "A verdict on another worker's answer, to go up to the hub", Tag: "center", Body: ReviewIn{}, Status: 201, Reply: api.Created{}},
		{Pattern: "POST /api/v1/center/audits/{id}", Handle: c.audit, Summary: "A reviewer's answer to a task the hub sent for a blind audit, to go up to the hub and settle the task", Tag: "center", Body: AuditIn{}, Status: 201, Reply: api.Created{}},
	}
}

// lanRoutes is the center's LAN API table, derived from a's: the rows
// fromHub names, in the hub table's order, then ownRoutes. viaAPI are
// served with the API's checks (token, rate limit, audit); own are the
// rows the center answers with handlers of its own.
func (c *Center) lanRoutes(a *api.API) (viaAPI, own []api.Route) {
	pick := c.fromHub()
	for _, rt := range a.Routes() {
		h, ok := pick[rt.Pattern]
		if !ok {
			continue
		}
		delete(pick, rt.Pattern)
		if h == nil {
			viaAPI = append(viaAPI, rt)
			continue
		}
		rt.Handle = h
		own = append(own, rt)
	}
	for p := range pick {
		panic("center: fromHub names " + p + ", which is not a route of the hub's API")
	}
	return viaAPI, append(own, c.ownRoutes()...)
}

// OpenAPI is the document of a center's LAN API.
func OpenAPI() ([]byte, error) {
	viaAPI, own := (&Center{}).lanRoutes(&api.API{})
	return api.OpenAPIFor("Banyan village center API",
		"A village center's API on its LAN: the hub API's calls for workers, answered from the center's own store while the uplink is down, and the center's own calls.",
		append(viaAPI, own...))
}

// Status is the center's queue and uplink.
type Status struct {
	CenterID string              `json:"center_id"`
	Queue    uplink.CenterStatus `json:"queue"`
	Uplink   uplink.SyncState    `json:"uplink"`
}

// What a center reviewer is given to check (ReviewItem.Kind).
const (
	// ReviewAudit is a task the hub sent for a blind audit: the item
	// only; the reviewer answers it at POST /api/v1/center/audits/{id}.
	ReviewAudit = "audit"
	// ReviewAnswer is another worker's answer, which the reviewer agrees
	// or disagrees with at POST /api/v1/center/reviews.
	ReviewAnswer = "answer"
)

// ReviewItem is what a center reviewer checks next: a task the hub sent
// for a blind audit (Kind audit, with AuditID and no answer), or an answer
// of another worker (Kind answer, with AssignmentID and Answer).
type ReviewItem struct {
	Kind         string          `json:"kind"`
	AuditID      string          `json:"audit_id,omitempty"`
	AssignmentID string          `json:"assignment_id,omitempty"`
	Payload      json.RawMessage `json:"payload"`
	Answer       *work.Answer    `json:"answer,omitempty"`
	Project      api.TaskProject `json:"project"`
}

// AuditIn is a reviewer's verdict on a blind audit: the answer they find
// right for the task, in the project's answer format.
type AuditIn struct {
	Answer json.RawMessage `json:"answer"`
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
// code. It is set in init because the document is built from the route
// table, whose row for the document names the handler that serves it.
var document func() ([]byte, error)

func init() { document = sync.OnceValues(OpenAPI) }

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
