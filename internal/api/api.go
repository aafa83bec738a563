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
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

// API serves /api/v1. Its fields are its dependencies; it holds no other
// state.
type API struct {
	Store    *store.Store
	Auth     *auth.Service
	Dispatch *dispatch.Service
	// Desk is where workers' tasks come from and their answers go: the
	// hub's dispatch.Service, or a village center's local store.
	Desk dispatch.Desk
	Log  *slog.Logger
	// SpoolDir is where uploads are spooled while they are validated.
	SpoolDir string
	// MaxUploadBytes caps one batch upload.
	MaxUploadBytes int64
	// Limits bound rows and tasks in one upload.
	Limits ingest.Limits
	// Blobs keeps the files tasks name.
	Blobs *blob.Store
	// AnswerItem scores a worker's answer to a course item; nil means
	// training.AnswerItem. A village center sets
	// training.CenterAnswerItem, which also queues the answer for the hub.
	AnswerItem func(ctx context.Context, st *store.Store, attemptID, workerID, itemID string, answer work.Answer) (training.ItemOutcome, error)
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

// HandlerFunc is a handler that may fail; the error becomes a problem.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// Route is one line of the route table: the call, its handler, and what
// the OpenAPI document says of it (openapi.go builds the document from
// these rows and the Go types they name).
type Route struct {
	Pattern string // Go 1.22 ServeMux pattern, "METHOD /path"
	Public  bool   // served without a token
	Handle  HandlerFunc

	// Summary and Tag say what the call does and where the document
	// lists it (Tag is a key of tagDescriptions).
	Summary string
	Tag     string
	// Query lists the query parameters, each "name: description".
	Query []string
	// Body is a value of the JSON request body's type; nil when the call
	// takes none.
	Body any
	// Optional marks a body the call may go without.
	Optional bool
	// Upload marks a batch-file body (CSV, JSON Lines, Label Studio JSON,
	// or multipart with attachments).
	Upload bool
	// Status is the reply's status on success; 0 means 200.
	Status int
	// Reply is a value of the JSON reply's type; nil for a reply with no
	// JSON body.
	Reply any
	// Media lists the reply's other media types (a download).
	Media []string
	// Idle marks a call that may answer 204 when there is nothing to do.
	Idle bool
}

// Routes is the route table of /api/v1, one line a route.
func (a *API) Routes() []Route {
	return []Route{
		{Pattern: "GET /api/v1/openapi.json", Public: true, Handle: a.openAPIDoc, Summary: "This document", Tag: "meta", Reply: map[string]any{}},
		{Pattern: "GET /api/v1/me", Handle: a.me, Summary: "Who the token belongs to", Tag: "me", Reply: meOut{}},
		{Pattern: "POST /api/v1/me/activity", Handle: a.recordActivity, Summary: "Report a span of active time (workers)", Tag: "me", Body: work.Activity{}, Status: 201, Reply: Created{}},
		{Pattern: "PUT /api/v1/me/declaration", Handle: a.declare, Summary: "Declare, voluntarily, facts for the impact report (workers)", Tag: "me", Body: work.Declaration{}, Reply: work.Declaration{}},
		{Pattern: "GET /api/v1/me/declaration", Handle: a.myDeclaration, Summary: "The worker's latest declaration", Tag: "me", Reply: declarationOut{}},
		{Pattern: "DELETE /api/v1/me/declaration", Handle: a.withdrawDeclaration, Summary: "Withdraw consent: every declaration is erased", Tag: "me", Reply: erasedOut{}},
		{Pattern: "POST /api/v1/clients", Handle: a.createClient, Summary: "Create a client organisation (hub staff)", Tag: "orgs", Body: createClientIn{}, Status: 201, Reply: auth.Org{}},
		{Pattern: "GET /api/v1/clients", Handle: a.listClients, Summary: "List clients (a client sees itself)", Tag: "orgs", Query: pageQuery, Reply: listPage[auth.Org]{}},
		{Pattern: "GET /api/v1/clients/{id}", Handle: a.getClient, Summary: "One client", Tag: "orgs", Reply: auth.Org{}},
		{Pattern: "GET /api/v1/clients/{id}/invoice", Handle: a.invoice, Summary: "A client's invoice for a period", Tag: "money", Query: withPeriod("format: csv for a CSV file"), Reply: ledger.Invoice{}, Media: csvMedia},
		{Pattern: "GET /api/v1/centers", Handle: a.listCenters, Summary: "Centers with their last contact and backlog (hub staff)", Tag: "centers", Query: pageQuery, Reply: listPage[report.CenterLink]{}},
		{Pattern: "GET /api/v1/audit", Handle: a.auditLog, Summary: "The audit log, newest first", Tag: "audit", Query: withPage("org_id: only this organisation's events"), Reply: listPage[audit.Event]{}},
		{Pattern: "POST /api/v1/centers/{id}/recall", Handle: a.recallFromCenter, Summary: "Take back a center's leased tasks", Tag: "centers", Body: recallFromCenterIn{}, Optional: true, Reply: recallOut{}},
		{Pattern: "POST /api/v1/orgs/{id}/users", Handle: a.createUser, Summary: "Add a user to an organisation", Tag: "orgs", Body: createUserIn{}, Status: 201, Reply: auth.User{}},
		{Pattern: "GET /api/v1/orgs/{id}/users", Handle: a.listUsers, Summary: "List an organisation's users", Tag: "orgs", Query: pageQuery, Reply: listPage[auth.User]{}},
		{Pattern: "POST /api/v1/users/{id}/tokens", Handle: a.createToken, Summary: "Issue an API token; the secret is shown once", Tag: "orgs", Body: createTokenIn{}, Optional: true, Status: 201, Reply: userToken{}},
		{Pattern: "POST /api/v1/users/{id}/pin", Handle: a.issuePIN, Summary: "Issue a worker's sign-in PIN; shown once", Tag: "orgs", Body: issueSignInIn{}, Optional: true, Status: 201, Reply: signInOut{}},
		{Pattern: "POST /api/v1/users/{id}/password", Handle: a.issuePassword, Summary: "Issue a sign-in password; shown once", Tag: "orgs", Body: issueSignInIn{}, Optional: true, Status: 201, Reply: signInOut{}},
		{Pattern: "DELETE /api/v1/tokens/{id}", Handle: a.revokeToken, Summary: "Revoke a token", Tag: "orgs", Status: 204},
		{Pattern: "GET /api/v1/users/{id}/skills", Handle: a.userSkills, Summary: "A worker's skills and accuracy", Tag: "quality", Reply: listPage[dispatch.WorkerSkill]{}},
		{Pattern: "POST /api/v1/users/{id}/skills/reinstate", Handle: a.reinstate, Summary: "Reinstate a suspended worker's skill", Tag: "quality", Body: reinstateIn{}, Status: 204},
		{Pattern: "POST /api/v1/users/{id}/skills/suspend", Handle: a.suspend, Summary: "Suspend a worker from a skill", Tag: "quality", Body: suspendIn{}, Status: 204},
		{Pattern: "GET /api/v1/users/{id}/gold-misses", Handle: a.goldMisses, Summary: "Gold tasks a worker got wrong", Tag: "quality", Reply: listPage[review.GoldMiss]{}},
		{Pattern: "POST /api/v1/projects", Handle: a.createProject, Summary: "Create a project", Tag: "projects", Body: projectIn{}, Status: 201, Reply: work.Project{}},
		{Pattern: "GET /api/v1/projects", Handle: a.listProjects, Summary: "List projects", Tag: "projects", Query: withPage("client_id: only this client's projects (hub staff)"), Reply: listPage[work.Project]{}},
		{Pattern: "GET /api/v1/projects/{id}", Handle: a.getProject, Summary: "One project", Tag: "projects", Reply: work.Project{}},
		{Pattern: "PATCH /api/v1/projects/{id}", Handle: a.updateProject, Summary: "Change a project's name, instructions, answer-time floor or priority", Tag: "projects", Body: updateProjectIn{}, Reply: work.Project{}},
		{Pattern: "POST /api/v1/projects/{id}/batches", Handle: a.uploadBatch, Summary: "Upload a batch of tasks", Tag: "batches", Upload: true, Query: []string{batchName, "deadline: when results are due, RFC 3339", uploadFormat}, Status: 201, Reply: work.Batch{}},
		{Pattern: "POST /api/v1/projects/{id}/gold", Handle: a.uploadGold, Summary: "Upload gold tasks with their known answers", Tag: "quality", Upload: true, Query: []string{batchName, uploadFormat}, Status: 201, Reply: work.Batch{}},
		{Pattern: "GET /api/v1/projects/{id}/batches", Handle: a.listBatches, Summary: "List a project's batches", Tag: "batches", Query: pageQuery, Reply: listPage[work.Batch]{}},
		{Pattern: "GET /api/v1/projects/{id}/results", Handle: a.projectResults, Summary: "Download a project's results", Tag: "batches", Query: resultsQuery, Media: resultsMedia},
		{Pattern: "GET /api/v1/projects/{id}/review", Handle: a.reviewQueue, Summary: "Tasks waiting for review, with their answers", Tag: "quality", Query: pageQuery, Reply: listPage[reviewItem]{}},
		{Pattern: "POST /api/v1/projects/{id}/refit", Handle: a.refit, Summary: "Re-estimate worker accuracies and re-decide open tasks", Tag: "quality", Reply: dispatch.RefitReport{}},
		{Pattern: "PUT /api/v1/projects/{id}/rates", Handle: a.putRates, Summary: "Set a project's rate card", Tag: "money", Body: rateCardIn{}, Reply: ledger.RateCard{}},
		{Pattern: "GET /api/v1/projects/{id}/rates", Handle: a.getRates, Summary: "A project's rate card", Tag: "money", Reply: ledger.RateCard{}},
		{Pattern: "GET /api/v1/ledger", Handle: a.ledgerState, Summary: "Verify the ledger's chain and show its totals (hub staff)", Tag: "money", Reply: ledgerOut{}},
		{Pattern: "GET /api/v1/me/earnings", Handle: a.myEarnings, Summary: "The worker's earnings statement", Tag: "money", Query: periodQuery, Reply: ledger.Statement{}},
		{Pattern: "GET /api/v1/impact", Handle: a.impactReport, Summary: "The impact report (hub staff)", Tag: "money", Query: periodQuery, Reply: report.Impact{}},
		{Pattern: "POST /api/v1/assignments/{id}/reject", Handle: a.rejectAnswer, Summary: "Reject a held answer, with a reason", Tag: "money", Body: judgeIn{}, Reply: ledger.Approval{}},
		{Pattern: "POST /api/v1/assignments/{id}/overturn", Handle: a.overturnRejection, Summary: "Overturn a rejection within the rate card's window", Tag: "money", Body: judgeIn{}, Reply: ledger.Approval{}},
		{Pattern: "POST /api/v1/users/{id}/bonus", Handle: a.bonus, Summary: "Pay a worker a bonus (idempotency key required)", Tag: "money", Body: bonusIn{}, Status: 201, Reply: bonusOut{}},
		{Pattern: "POST /api/v1/webhooks", Handle: a.createWebhook, Summary: "Subscribe a URL to a client's events", Tag: "webhooks", Body: createWebhookIn{}, Status: 201, Reply: webhook.Webhook{}},
		{Pattern: "GET /api/v1/webhooks", Handle: a.listWebhooks, Summary: "List webhook subscriptions", Tag: "webhooks", Query: []string{"client_id: only this client's (hub staff)"}, Reply: listPage[webhook.Webhook]{}},
		{Pattern: "DELETE /api/v1/webhooks/{id}", Handle: a.deleteWebhook, Summary: "Remove a subscription", Tag: "webhooks", Status: 204},
		{Pattern: "GET /api/v1/webhooks/{id}/deliveries", Handle: a.webhookDeliveries, Summary: "A subscription's recent deliveries", Tag: "webhooks", Reply: listPage[webhook.Delivery]{}},
		{Pattern: "POST /api/v1/webhooks/{id}/test", Handle: a.testWebhook, Summary: "Send a signed ping now", Tag: "webhooks", Reply: webhook.Delivery{}},
		{Pattern: "POST /api/v1/tasks/{id}/reject", Handle: a.rejectResult, Summary: "A client rejects a delivered result: rework and a credit note", Tag: "money", Body: rejectResultIn{}, Reply: reworkOut{}},
		{Pattern: "POST /api/v1/centers/{id}/revoke", Handle: a.revokeCenter, Summary: "Revoke a center's sync tokens (a stolen PC stops syncing)", Tag: "centers", Reply: revokeOut{}},
		{Pattern: "PUT /api/v1/users/{id}/payee", Handle: a.setPayee, Summary: "Set where a worker is paid", Tag: "money", Body: setPayeeIn{}, Reply: payeeOut{}},
		{Pattern: "PUT /api/v1/centers/{id}/payee", Handle: a.setPayee, Summary: "Set where a center's share is paid", Tag: "money", Body: setPayeeIn{}, Reply: payeeOut{}},
		{Pattern: "GET /api/v1/centers/{id}/payout", Handle: a.payout, Summary: "A center's payout file for a period", Tag: "money", Query: withPeriod("format: json for JSON instead of the bank's CSV"), Reply: payoutOut{}, Media: csvMedia},
		{Pattern: "GET /api/v1/users/{id}/earnings", Handle: a.userEarnings, Summary: "A worker's earnings statement", Tag: "money", Query: periodQuery, Reply: ledger.Statement{}},
		{Pattern: "GET /api/v1/batches/{id}", Handle: a.getBatch, Summary: "A batch and its progress", Tag: "batches", Reply: batchOut{}},
		{Pattern: "POST /api/v1/batches/{id}/cancel", Handle: a.cancelBatch, Summary: "Cancel a batch's unfinished tasks", Tag: "batches", Reply: work.Batch{}},
		{Pattern: "GET /api/v1/batches/{id}/tasks", Handle: a.listTasks, Summary: "List a batch's tasks", Tag: "batches", Query: withPage("state: only tasks in this state"), Reply: listPage[work.Task]{}},
		{Pattern: "GET /api/v1/batches/{id}/results", Handle: a.batchResults, Summary: "Download a batch's results", Tag: "batches", Query: resultsQuery, Media: resultsMedia},
		{Pattern: "GET /api/v1/batches/{id}/quality", Handle: a.batchQuality, Summary: "A batch's measured quality", Tag: "quality", Reply: review.QualityReport{}},
		{Pattern: "GET /api/v1/tasks/{id}", Handle: a.getTask, Summary: "One task", Tag: "batches", Reply: work.Task{}},
		{Pattern: "POST /api/v1/tasks/{id}/resolve", Handle: a.resolveTask, Summary: "Settle a task by review", Tag: "quality", Body: resolveTaskIn{}, Reply: resolveOut{}},
		{Pattern: "POST /api/v1/courses", Handle: a.createCourse, Summary: "Create a training or qualification course", Tag: "training", Body: courseIn{}, Status: 201, Reply: work.Course{}},
		{Pattern: "GET /api/v1/courses", Handle: a.listCourses, Summary: "List courses", Tag: "training", Query: pageQuery, Reply: listPage[work.Course]{}},
		{Pattern: "GET /api/v1/courses/{id}", Handle: a.getCourse, Summary: "One course", Tag: "training", Reply: work.Course{}},
		{Pattern: "POST /api/v1/courses/{id}/attempts", Handle: a.startAttempt, Summary: "Start an attempt at a course (workers)", Tag: "training", Status: 201, Reply: work.Attempt{}},
		{Pattern: "GET /api/v1/attempts/{id}", Handle: a.getAttempt, Summary: "One attempt", Tag: "training", Reply: work.Attempt{}},
		{Pattern: "GET /api/v1/attempts/{id}/next", Handle: a.nextItem, Summary: "The attempt's next item", Tag: "training", Reply: itemOut{}, Idle: true},
		{Pattern: "POST /api/v1/attempts/{id}/answers", Handle: a.answerItem, Summary: "Answer an item of the attempt", Tag: "training", Body: answerItemIn{}, Reply: attemptAnswerOut{}},
		{Pattern: "POST /api/v1/work/next", Handle: a.nextTask, Summary: "The worker's next task (204 when there is none)", Tag: "work", Body: nextTaskIn{}, Optional: true, Reply: Offer{}, Idle: true},
		{Pattern: "POST /api/v1/assignments/{id}/answer", Handle: a.submitAnswer, Summary: "Answer an assignment", Tag: "work", Body: AnswerIn{}, Reply: AnswerReply{}},
		{Pattern: "GET /api/v1/assignments/{id}/files/{field}", Handle: a.assignmentFile, Summary: "An attachment of the task in hand, in its own media type", Tag: "work", Media: []string{"*/*"}},
		{Pattern: "POST /api/v1/assignments/{id}/contest", Handle: a.contest, Summary: "Contest a gold verdict", Tag: "quality", Body: contestIn{}, Status: 201, Reply: review.Contest{}},
		{Pattern: "GET /api/v1/contests", Handle: a.listContests, Summary: "List contests", Tag: "quality", Query: withPage("state: open or decided"), Reply: listPage[review.Contest]{}},
		{Pattern: "POST /api/v1/contests/{id}/decide", Handle: a.decideContest, Summary: "Decide a contest", Tag: "quality", Body: decideContestIn{}, Status: 204},
	}
}

// Register adds every route to mux.
func (a *API) Register(mux *http.ServeMux) {
	a.Mount(mux, a.Routes())
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, a.Log, r, problem.New(http.StatusNotFound, "no API route %s %s", r.Method, r.URL.Path))
	}))
}

// Mount adds routes, rows of this table, to mux, each served with the
// API's checks (token, rate limit, audit): Register mounts them all, and a
// server that serves part of this API over its own store mounts its share
// (a village center serves training and the worker's records this way).
func (a *API) Mount(mux *http.ServeMux, routes []Route) {
	for _, rt := range routes {
		mux.Handle(rt.Pattern, a.wrap(rt))
	}
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
	if err := rt.Handle(sw, r, p); err != nil {
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
