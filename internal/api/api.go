// Package api owns the REST API under /api/v1: JSON in and out, bearer
// tokens, RFC 9457 problem details for errors, cursor pagination, and
// streamed uploads and downloads. Every route is one line of the table in
// Routes; every handler asks the auth policy before it shows or changes
// anything, and shows another client's records as "not found".
package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/dispatch"
	"banyan/internal/ingest"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

// API serves /api/v1. Its fields are its dependencies; it holds no other
// state.
type API struct {
	Store    *store.Store
	Auth     *auth.Service
	Dispatch *dispatch.Service
	Log      *slog.Logger
	// SpoolDir is where uploads are spooled while they are validated.
	SpoolDir string
	// MaxUploadBytes caps one batch upload.
	MaxUploadBytes int64
	// Limits bound rows and tasks in one upload.
	Limits ingest.Limits
	// Blobs keeps the files tasks name.
	Blobs *blob.Store
	// AnswerItem scores a worker's answer to a course item; nil means
	// Store.AnswerItem. A village center sets Store.CenterAnswerItem, which
	// also queues the answer for the hub.
	AnswerItem func(ctx context.Context, attemptID, workerID, itemID string, answer work.Answer) (store.ItemOutcome, error)
	// MinimumWage is the floor, in paise per hour of active task time,
	// under which an earnings statement is marked (0: none).
	MinimumWage int64
	// TokenRate caps the calls a second of one API token (burst twice
	// that); 0 means the default, 200.
	TokenRate float64
	// LiveHubs says how many hub processes share the database, whose
	// per-token limit this hub enforces its share of; nil means 1.
	LiveHubs    func() int
	limitOnce   sync.Once
	tokenLimits *tokenLimiter
	// AllowPrivateWebhooks lets webhooks target special-purpose addresses
	// (private, loopback, shared, link-local … every range of the IANA
	// special-purpose registries).
	AllowPrivateWebhooks bool
	// Hooks keeps clients' webhook subscriptions (nil at a village
	// center, which serves none of the webhook routes).
	Hooks      *webhook.Queue
	hookOnce   sync.Once
	hookClient *http.Client
	// TrainingRate pays accepted training time, in paise per hour (0:
	// unpaid).
	TrainingRate int64
	// Spans are the limits declared time is checked against (the daily
	// cap; no clock skew, which is for centers only).
	Spans work.SpanLimits
}

// maxJSONBody caps every JSON request body.
const maxJSONBody = 1 << 20

// handlerFunc is a handler that may fail; the error becomes a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// Route is one line of the route table.
type Route struct {
	Pattern string // Go 1.22 ServeMux pattern, "METHOD /path"
	Public  bool   // served without a token
	handle  handlerFunc
}

// Routes is the route table of /api/v1, one line a route.
func (a *API) Routes() []Route {
	return []Route{
		{Pattern: "GET /api/v1/openapi.json", Public: true, handle: a.openAPIDoc},
		{Pattern: "GET /api/v1/me", handle: a.me},
		{Pattern: "POST /api/v1/me/activity", handle: a.recordActivity},
		{Pattern: "PUT /api/v1/me/declaration", handle: a.declare},
		{Pattern: "GET /api/v1/me/declaration", handle: a.myDeclaration},
		{Pattern: "DELETE /api/v1/me/declaration", handle: a.withdrawDeclaration},
		{Pattern: "POST /api/v1/clients", handle: a.createClient},
		{Pattern: "GET /api/v1/clients", handle: a.listClients},
		{Pattern: "GET /api/v1/clients/{id}", handle: a.getClient},
		{Pattern: "GET /api/v1/clients/{id}/invoice", handle: a.invoice},
		{Pattern: "GET /api/v1/centers", handle: a.listCenters},
		{Pattern: "GET /api/v1/audit", handle: a.auditLog},
		{Pattern: "POST /api/v1/centers/{id}/recall", handle: a.recallFromCenter},
		{Pattern: "POST /api/v1/orgs/{id}/users", handle: a.createUser},
		{Pattern: "GET /api/v1/orgs/{id}/users", handle: a.listUsers},
		{Pattern: "POST /api/v1/users/{id}/tokens", handle: a.createToken},
		{Pattern: "POST /api/v1/users/{id}/pin", handle: a.issuePIN},
		{Pattern: "POST /api/v1/users/{id}/password", handle: a.issuePassword},
		{Pattern: "DELETE /api/v1/tokens/{id}", handle: a.revokeToken},
		{Pattern: "GET /api/v1/users/{id}/skills", handle: a.userSkills},
		{Pattern: "POST /api/v1/users/{id}/skills/reinstate", handle: a.reinstate},
		{Pattern: "POST /api/v1/users/{id}/skills/suspend", handle: a.suspend},
		{Pattern: "GET /api/v1/users/{id}/gold-misses", handle: a.goldMisses},
		{Pattern: "POST /api/v1/projects", handle: a.createProject},
		{Pattern: "GET /api/v1/projects", handle: a.listProjects},
		{Pattern: "GET /api/v1/projects/{id}", handle: a.getProject},
		{Pattern: "PATCH /api/v1/projects/{id}", handle: a.updateProject},
		{Pattern: "POST /api/v1/projects/{id}/batches", handle: a.uploadBatch},
		{Pattern: "POST /api/v1/projects/{id}/gold", handle: a.uploadGold},
		{Pattern: "GET /api/v1/projects/{id}/batches", handle: a.listBatches},
		{Pattern: "GET /api/v1/projects/{id}/results", handle: a.projectResults},
		{Pattern: "GET /api/v1/projects/{id}/review", handle: a.reviewQueue},
		{Pattern: "POST /api/v1/projects/{id}/refit", handle: a.refit},
		{Pattern: "PUT /api/v1/projects/{id}/rates", handle: a.putRates},
		{Pattern: "GET /api/v1/projects/{id}/rates", handle: a.getRates},
		{Pattern: "GET /api/v1/ledger", handle: a.ledgerState},
		{Pattern: "GET /api/v1/me/earnings", handle: a.myEarnings},
		{Pattern: "GET /api/v1/impact", handle: a.impactReport},
		{Pattern: "POST /api/v1/assignments/{id}/reject", handle: a.rejectAnswer},
		{Pattern: "POST /api/v1/assignments/{id}/overturn", handle: a.overturnRejection},
		{Pattern: "POST /api/v1/users/{id}/bonus", handle: a.bonus},
		{Pattern: "POST /api/v1/webhooks", handle: a.createWebhook},
		{Pattern: "GET /api/v1/webhooks", handle: a.listWebhooks},
		{Pattern: "DELETE /api/v1/webhooks/{id}", handle: a.deleteWebhook},
		{Pattern: "GET /api/v1/webhooks/{id}/deliveries", handle: a.webhookDeliveries},
		{Pattern: "POST /api/v1/webhooks/{id}/test", handle: a.testWebhook},
		{Pattern: "POST /api/v1/tasks/{id}/reject", handle: a.rejectResult},
		{Pattern: "POST /api/v1/centers/{id}/revoke", handle: a.revokeCenter},
		{Pattern: "PUT /api/v1/users/{id}/payee", handle: a.setPayee},
		{Pattern: "PUT /api/v1/centers/{id}/payee", handle: a.setPayee},
		{Pattern: "GET /api/v1/centers/{id}/payout", handle: a.payout},
		{Pattern: "GET /api/v1/users/{id}/earnings", handle: a.userEarnings},
		{Pattern: "GET /api/v1/batches/{id}", handle: a.getBatch},
		{Pattern: "POST /api/v1/batches/{id}/cancel", handle: a.cancelBatch},
		{Pattern: "GET /api/v1/batches/{id}/tasks", handle: a.listTasks},
		{Pattern: "GET /api/v1/batches/{id}/results", handle: a.batchResults},
		{Pattern: "GET /api/v1/batches/{id}/quality", handle: a.batchQuality},
		{Pattern: "GET /api/v1/tasks/{id}", handle: a.getTask},
		{Pattern: "POST /api/v1/tasks/{id}/resolve", handle: a.resolveTask},
		{Pattern: "POST /api/v1/courses", handle: a.createCourse},
		{Pattern: "GET /api/v1/courses", handle: a.listCourses},
		{Pattern: "GET /api/v1/courses/{id}", handle: a.getCourse},
		{Pattern: "POST /api/v1/courses/{id}/attempts", handle: a.startAttempt},
		{Pattern: "GET /api/v1/attempts/{id}", handle: a.getAttempt},
		{Pattern: "GET /api/v1/attempts/{id}/next", handle: a.nextItem},
		{Pattern: "POST /api/v1/attempts/{id}/answers", handle: a.answerItem},
		{Pattern: "POST /api/v1/work/next", handle: a.nextTask},
		{Pattern: "POST /api/v1/assignments/{id}/answer", handle: a.submitAnswer},
		{Pattern: "GET /api/v1/assignments/{id}/files/{field}", handle: a.assignmentFile},
		{Pattern: "POST /api/v1/assignments/{id}/contest", handle: a.contest},
		{Pattern: "GET /api/v1/contests", handle: a.listContests},
		{Pattern: "POST /api/v1/contests/{id}/decide", handle: a.decideContest},
	}
}

// Register adds every route to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.Routes() {
		mux.Handle(rt.Pattern, a.wrap(rt))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, a.Log, r, problem.New(http.StatusNotFound, "no API route %s %s", r.Method, r.URL.Path))
	}))
}

// ServeAs runs the API route with the given pattern for a principal the
// caller has authenticated itself (the web pages, by their session
// cookie): the pages use the API's checks and replies rather than repeat
// them. An unknown pattern answers 404.
func (a *API) ServeAs(w http.ResponseWriter, r *http.Request, p auth.Principal, pattern string) {
	for _, rt := range a.Routes() {
		if rt.Pattern == pattern {
			a.serve(w, r, p, rt)
			return
		}
	}
	problem.Write(w, a.Log, r, problem.New(http.StatusNotFound, "no API route %s", pattern))
}

func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		if !rt.Public {
			secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				problem.Write(w, a.Log, r, auth.ErrUnauthenticated)
				return
			}
			var err error
			p, err = a.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
			if err != nil {
				problem.Write(w, a.Log, r, err)
				return
			}
			hubs := 1
			if a.LiveHubs != nil {
				hubs = a.LiveHubs()
			}
			if ok, wait := a.limiter().allow(p.TokenID, time.Now(), hubs); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				problem.Write(w, a.Log, r, problem.New(http.StatusTooManyRequests, "this token is calling too fast: at most %d calls a second", int(a.limiterRate())))
				return
			}
		}
		a.serve(w, r, p, rt)
	})
}

// serve runs a route for a principal and puts what it did in the audit
// log when the route changes something as hub staff, changes who may do
// what, or exports data.
func (a *API) serve(w http.ResponseWriter, r *http.Request, p auth.Principal, rt Route) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if err := rt.handle(sw, r, p); err != nil {
		problem.Write(sw, a.Log, r, err)
	}
	if sw.status >= 400 || p.UserID == "" {
		return
	}
	mutation := r.Method != http.MethodGet && r.Method != http.MethodHead
	permission := strings.Contains(rt.Pattern, "/tokens") || strings.Contains(rt.Pattern, "/users") ||
		strings.Contains(rt.Pattern, "/pin") || strings.Contains(rt.Pattern, "/password") || strings.Contains(rt.Pattern, "/skills/")
	export := strings.HasSuffix(rt.Pattern, "/results") || strings.HasSuffix(rt.Pattern, "/payout") || strings.HasSuffix(rt.Pattern, "/invoice")
	if !(mutation && (p.IsHubStaff() || permission)) && !export {
		return
	}
	// Ids only: never a request's body.
	if _, err := audit.Log(context.WithoutCancel(r.Context()), a.Store, p.OrgID, audit.Record{Actor: p.UserID,
		Action: rt.Pattern, Subject: r.PathValue("id")}); err != nil {
		a.Log.Error("audit event not recorded", "action", rt.Pattern, "err", err)
	}
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush passes a streamed export's flushes through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a JSON body into v, refusing unknown members, trailing
// data and bodies over maxJSONBody, with a message that says what is wrong.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return problem.New(http.StatusBadRequest, "field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return problem.New(http.StatusBadRequest, "the request body is empty; send a JSON object")
		}
		return problem.New(http.StatusBadRequest, "the request body is not valid JSON for this call: %v", err)
	}
	if dec.More() {
		return problem.New(http.StatusBadRequest, "the request body has data after the JSON object")
	}
	return nil
}

// listPage is one page of a list, with the cursor for the next.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// pageOf reads ?limit= and ?cursor= into a store page that asks for one item
// more than the caller wants, so we know whether there is a next page.
func pageOf(r *http.Request) (store.Page, error) {
	limit := defaultLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return store.Page{}, problem.New(http.StatusBadRequest, "limit: must be a whole number from 1 to %d", maxLimit)
		}
		limit = n
	}
	after := ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !work.ValidID(string(b)) {
			return store.Page{}, problem.New(http.StatusBadRequest, "cursor: not a cursor this API gave out; use next_cursor from the previous page")
		}
		after = string(b)
	}
	return store.Page{After: after, Limit: limit + 1}, nil
}

// pageResult trims the extra item pageOf asked for and makes the cursor.
func pageResult[T any](items []T, p store.Page, id func(T) string) listPage[T] {
	out := listPage[T]{Items: items}
	if len(items) == p.Limit {
		out.Items = items[:p.Limit-1]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(id(out.Items[len(out.Items)-1])))
	}
	return out
}

// pathID reads a path id and checks that it looks like one.
func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return "", errNotVisible(what)
	}
	return id, nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return writeJSON(w, http.StatusOK, meOut{UserID: p.UserID, Name: p.Name, OrgID: p.OrgID, Role: string(p.Role), TokenID: p.TokenID})
}

// validName checks a display name given by a user.
func validName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return "", problem.New(http.StatusUnprocessableEntity, "%s: required, at most 200 bytes", field)
	}
	return s, nil
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// webhookClient is the client for webhook tests, made once.
func (a *API) webhookClient() *http.Client {
	a.hookOnce.Do(func() { a.hookClient = webhook.Client(a.AllowPrivateWebhooks) })
	return a.hookClient
}

func (a *API) limiterRate() float64 {
	if a.TokenRate > 0 {
		return a.TokenRate
	}
	return defaultTokenRate
}

func (a *API) limiter() *tokenLimiter {
	a.limitOnce.Do(func() {
		burst := float64(defaultTokenBurst)
		if a.TokenRate > 0 {
			burst = 2 * a.TokenRate
		}
		a.tokenLimits = newTokenLimiter(a.limiterRate(), burst)
	})
	return a.tokenLimits
}
