package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"banyan/internal/api"
	"banyan/internal/api/apitest"
	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/web"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

// The authorization matrix: every API route, called as every role, with
// the ids of one client's data (marked with markers in its names and
// payloads). It checks the status each role gets and that no body — of
// any reply, export included — shows that client's data to anyone who
// may not see it. The table is keyed by the route list: a route without
// an entry fails the test.

// The roles.
const (
	rAdmin    = "hub_admin"
	rOps      = "ops"
	rReviewer = "reviewer"
	rClient   = "client_admin"  // the marked client's admin
	rViewer   = "client_viewer" // the marked client's viewer
	rOther    = "other_client"  // another client's admin
	rManager  = "center_manager"
	rWorker   = "worker"
	rNode     = "center_node"
	rAnon     = "anonymous"
)

var roles = []string{rAdmin, rOps, rReviewer, rClient, rViewer, rOther, rManager, rWorker, rNode, rAnon}

const marker = "MARKER-A"

type authzRig struct {
	t      *testing.T
	srv    *httptest.Server
	tokens map[string]string
	ids    map[string]string // path parameter by resource
	// replies checks every reply against the OpenAPI document.
	replies *apitest.Checker
	// sessions are a signed-in browser's cookie and CSRF token, by role.
	sessions map[string][2]string
	users    map[string]auth.User
	st       *store.Store
	people   *auth.Service
}

func newAuthzRig(t *testing.T) *authzRig {
	ctx := context.Background()
	h := openTestHub(t, func(c *Config) { c.AllowPrivateWebhooks = true })
	st := h.Store
	replies, err := apitest.New()
	if err != nil {
		t.Fatal(err)
	}
	g := &authzRig{t: t, tokens: map[string]string{}, ids: map[string]string{}, replies: replies,
		sessions: map[string][2]string{}, users: map[string]auth.User{}, st: st, people: h.Auth}
	issue := func(role string, u auth.User) {
		g.users[role] = u
		g.signIn(role)
		tok, rec, err := h.Auth.Issue(ctx, u, "matrix")
		if err != nil {
			t.Fatal(err)
		}
		g.tokens[role] = tok
		if role == rClient {
			// A second token of the client's admin, for the route that
			// revokes one: the first must keep working.
			_, spare, err := h.Auth.Issue(ctx, u, "spare")
			if err != nil {
				t.Fatal(err)
			}
			g.ids["token"] = spare.ID
		}
		_ = rec
	}
	a, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "ACME "+marker)
	b, _ := h.Auth.CreateOrg(ctx, auth.OrgClient, "Other Co")
	center, nodeToken, _ := h.AddCenter(ctx, "Melur")
	g.tokens[rNode] = nodeToken
	mk := func(org, name, role string) auth.User {
		u, err := h.Auth.CreateUser(ctx, org, name, role)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	issue(rAdmin, mk(auth.HubOrgID, "admin", "hub_admin"))
	issue(rOps, mk(auth.HubOrgID, "ops", "ops"))
	issue(rReviewer, mk(auth.HubOrgID, "rev", "reviewer"))
	clientAdmin := mk(a.ID, "rekha "+marker, "client_admin")
	issue(rClient, clientAdmin)
	issue(rViewer, mk(a.ID, "vina", "client_viewer"))
	issue(rOther, mk(b.ID, "omar", "client_admin"))
	issue(rManager, mk(center.ID, "manju", "center_manager"))
	worker := mk(auth.BuiltinCenterOrgID, "kavya", "worker")
	issue(rWorker, worker)

	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: a.ID, Name: "Project " + marker, Kind: work.Classify, Schema: schema,
		Instructions: "instructions " + marker, Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600,
		Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 300})
	batch, _ := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "Batch " + marker, Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 3 {
			if !yield(project.NewTask{ExternalID: fmt.Sprintf("ext-%s-%d", marker, i), Payload: fmt.Appendf(nil, `{"text":"task %s %d"}`, marker, i)}, nil) {
				return
			}
		}
	})
	// Two results delivered; the third task is in the worker's hands.
	var assignment string
	for i := range 3 {
		asg, task, err := h.Dispatch.Claim(ctx, worker.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			h.Dispatch.Submit(ctx, dispatch.Submission{WorkID: asg.ID, WorkerID: worker.ID, Answer: []byte(`{"label":"spam"}`), ReportedMS: 4000})
		} else {
			assignment = asg.ID
			g.ids["task"] = task.ID
		}
	}
	hook, _ := h.hooks.Create(ctx, a.ID, "http://127.0.0.1:9/"+marker, []string{webhook.EventResultReady})
	g.ids["project"], g.ids["batch"], g.ids["client"], g.ids["org"] = p.ID, batch.ID, a.ID, a.ID
	g.ids["assignment"], g.ids["webhook"], g.ids["center"] = assignment, hook.ID, center.ID
	g.ids["user"] = clientAdmin.ID
	g.ids["course"], g.ids["attempt"], g.ids["contest"] = work.NewID(), work.NewID(), work.NewID()
	g.srv = httptest.NewServer(h.Handler())
	t.Cleanup(g.srv.Close)
	return g
}

// path fills a route pattern's parameters with the marked client's ids.
func (g *authzRig) path(pattern string) string {
	_, path, _ := strings.Cut(pattern, " ")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p == "{id}" {
			res := strings.TrimSuffix(parts[i-1], "s")
			if parts[i-1] == "batches" {
				res = "batch"
			}
			id, ok := g.ids[res]
			if !ok {
				g.t.Fatalf("%s: no id for a %s", pattern, res)
			}
			parts[i] = id
		}
		if p == "{field}" {
			parts[i] = "text"
		}
	}
	return strings.Join(parts, "/")
}

func (g *authzRig) call(role, pattern string) (int, string) {
	method, _, _ := strings.Cut(pattern, " ")
	var body io.Reader
	if method != "GET" && method != "DELETE" {
		body = strings.NewReader("{}")
	}
	req, _ := http.NewRequest(method, g.srv.URL+g.path(pattern), body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := g.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := g.replies.Check(method, g.path(pattern), resp.StatusCode, resp.Header.Get("Content-Type"), b); err != nil {
		g.t.Errorf("as %s: %v", role, err)
	}
	return resp.StatusCode, string(b)
}

// passes is, for each route, the roles that get past its authorization
// (a reply other than 401, 403 or 404) when called with the marked
// client's ids and an empty JSON body. Every other role must get 401, 403
// or 404; anonymous always 401, except on a public route, where it is
// listed.
var passes = map[string][]string{
	"GET /api/v1/openapi.json":                   {rAdmin, rOps, rReviewer, rClient, rViewer, rOther, rManager, rWorker, rNode, rAnon},
	"GET /api/v1/me":                             {rAdmin, rOps, rReviewer, rClient, rViewer, rOther, rManager, rWorker, rNode},
	"POST /api/v1/me/activity":                   {rWorker},
	"PUT /api/v1/me/declaration":                 {rWorker},
	"GET /api/v1/me/declaration":                 {rWorker},
	"DELETE /api/v1/me/declaration":              {rWorker},
	"POST /api/v1/clients":                       {rAdmin, rOps},
	"GET /api/v1/clients":                        {rAdmin, rOps, rClient, rViewer, rOther},
	"GET /api/v1/clients/{id}":                   {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/clients/{id}/invoice":           {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/centers":                        {rAdmin, rOps},
	"GET /api/v1/audit":                          {rAdmin, rOps},
	"POST /api/v1/centers/{id}/recall":           {rAdmin, rOps},
	"POST /api/v1/orgs/{id}/users":               {rAdmin, rOps, rClient},
	"GET /api/v1/orgs/{id}/users":                {rAdmin, rOps, rClient},
	"POST /api/v1/users/{id}/tokens":             {rAdmin, rOps, rClient},
	"POST /api/v1/users/{id}/pin":                {rAdmin, rOps, rClient},
	"POST /api/v1/users/{id}/password":           {rAdmin, rOps, rClient},
	"DELETE /api/v1/tokens/{id}":                 {rAdmin, rOps, rClient},
	"GET /api/v1/users/{id}/skills":              {rAdmin, rOps, rClient},
	"POST /api/v1/users/{id}/skills/reinstate":   {rAdmin, rOps},
	"POST /api/v1/users/{id}/skills/suspend":     {rAdmin, rOps},
	"GET /api/v1/users/{id}/gold-misses":         {rAdmin, rOps, rClient},
	"POST /api/v1/projects":                      {rAdmin, rOps, rClient, rOther},
	"GET /api/v1/projects":                       {rAdmin, rOps, rClient, rViewer, rOther},
	"GET /api/v1/projects/{id}":                  {rAdmin, rOps, rClient, rViewer},
	"PATCH /api/v1/projects/{id}":                {rAdmin, rOps, rClient},
	"POST /api/v1/projects/{id}/batches":         {rAdmin, rOps, rClient},
	"POST /api/v1/projects/{id}/gold":            {rAdmin, rOps, rClient},
	"GET /api/v1/projects/{id}/batches":          {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/projects/{id}/results":          {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/projects/{id}/review":           {rAdmin, rOps, rReviewer},
	"POST /api/v1/projects/{id}/refit":           {rAdmin, rOps},
	"PUT /api/v1/projects/{id}/rates":            {rAdmin, rOps},
	"GET /api/v1/projects/{id}/rates":            {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/ledger":                         {rAdmin, rOps},
	"GET /api/v1/me/earnings":                    {rWorker},
	"GET /api/v1/impact":                         {rAdmin, rOps},
	"POST /api/v1/assignments/{id}/reject":       {rAdmin, rOps, rReviewer},
	"POST /api/v1/assignments/{id}/overturn":     {},
	"POST /api/v1/users/{id}/bonus":              {rAdmin, rOps},
	"POST /api/v1/webhooks":                      {rClient, rOther},
	"GET /api/v1/webhooks":                       {rAdmin, rOps, rClient, rOther},
	"DELETE /api/v1/webhooks/{id}":               {rAdmin, rOps, rClient},
	"GET /api/v1/webhooks/{id}/deliveries":       {rAdmin, rOps, rClient},
	"POST /api/v1/webhooks/{id}/test":            {rAdmin, rOps, rClient},
	"POST /api/v1/centers/{id}/revoke":           {rAdmin},
	"POST /api/v1/tasks/{id}/reject":             {rAdmin, rOps, rClient},
	"PUT /api/v1/users/{id}/payee":               {rAdmin, rOps, rClient},
	"PUT /api/v1/centers/{id}/payee":             {rAdmin, rOps},
	"GET /api/v1/centers/{id}/payout":            {rAdmin, rOps},
	"GET /api/v1/users/{id}/earnings":            {rAdmin, rOps},
	"GET /api/v1/batches/{id}":                   {rAdmin, rOps, rClient, rViewer},
	"POST /api/v1/batches/{id}/cancel":           {rAdmin, rOps, rClient},
	"GET /api/v1/batches/{id}/tasks":             {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/batches/{id}/results":           {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/batches/{id}/quality":           {rAdmin, rOps, rClient, rViewer},
	"GET /api/v1/tasks/{id}":                     {rAdmin, rOps, rClient, rViewer},
	"POST /api/v1/tasks/{id}/resolve":            {rAdmin, rOps, rReviewer},
	"POST /api/v1/courses":                       {rAdmin, rOps},
	"GET /api/v1/courses":                        {rAdmin, rOps, rReviewer, rManager, rWorker},
	"GET /api/v1/courses/{id}":                   {},
	"POST /api/v1/courses/{id}/attempts":         {},
	"GET /api/v1/attempts/{id}":                  {},
	"GET /api/v1/attempts/{id}/next":             {},
	"POST /api/v1/attempts/{id}/answers":         {},
	"POST /api/v1/work/next":                     {rWorker},
	"POST /api/v1/assignments/{id}/answer":       {rWorker},
	"GET /api/v1/assignments/{id}/files/{field}": {},
	"POST /api/v1/assignments/{id}/contest":      {rWorker},
	"GET /api/v1/contests":                       {rAdmin, rOps, rReviewer},
	"POST /api/v1/contests/{id}/decide":          {},
}

// seers may see the marked client's data.
var seers = []string{rAdmin, rOps, rClient, rViewer}

func TestAuthorizationMatrix(t *testing.T) {
	g := newAuthzRig(t)
	routes := (&api.API{}).Routes()
	var report strings.Builder
	listed := map[string]bool{}
	for _, rt := range routes {
		listed[rt.Pattern] = true
		allowed, ok := passes[rt.Pattern]
		if !ok {
			t.Errorf("%s has no entry in the authorization matrix: add one", rt.Pattern)
			continue
		}
		fmt.Fprintf(&report, "%-50s", rt.Pattern)
		for _, role := range roles {
			code, body := g.call(role, rt.Pattern)
			leak := strings.Contains(body, marker)
			fmt.Fprintf(&report, " %s:%d", role, code)
			if leak {
				report.WriteString("*")
			}
			denied := code == 401 || code == 403 || code == 404
			switch {
			case role == rAnon && code != 401 && !rt.Public:
				t.Errorf("%s as %s: %d, want 401", rt.Pattern, role, code)
			case slices.Contains(allowed, role) && (code == 401 || code == 403):
				t.Errorf("%s as %s: %d, want to get past authorization", rt.Pattern, role, code)
			case !slices.Contains(allowed, role) && !denied:
				t.Errorf("%s as %s: %d, want 401, 403 or 404", rt.Pattern, role, code)
			}
			if leak && !slices.Contains(seers, role) {
				t.Errorf("%s as %s: the reply shows the marked client's data", rt.Pattern, role)
			}
		}
		report.WriteString("\n")
	}
	for pattern := range passes {
		if !listed[pattern] {
			t.Errorf("the matrix lists %s, which is not a route", pattern)
		}
	}
	if path := os.Getenv("BANYAN_AUTHZ_REPORT"); path != "" {
		os.WriteFile(path, []byte(report.String()), 0o644)
	}
}

// The same matrix over the web pages: every page and form of the route
// table, as every role signed in with a browser session (the center's
// node has none), with the marked client's ids and, on forms, the
// session's CSRF token. A role outside a page's list must be sent to sign
// in or get 403 or 404 (a public page, nil here, may answer anything);
// the marked client's data shows only to hub staff, the client's own
// people, and the worker holding its task. The center office's pages are
// served by centers, not the hub: here they refuse everyone.
var pagePasses = map[string][]string{
	"GET /{$}":                           nil, // public
	"GET /static/{name}":                 nil, // public
	"GET /desk/signin":                   nil, // public
	"POST /desk/signin":                  nil, // public
	"POST /desk/signout":                 {rAdmin, rOps, rReviewer, rClient, rViewer, rOther, rManager, rWorker},
	"POST /desk/lang":                    nil, // public
	"GET /desk/{$}":                      {rWorker},
	"GET /desk/task":                     {rWorker},
	"POST /desk/task":                    {rWorker},
	"POST /desk/draft":                   {rWorker},
	"GET /desk/review":                   {rAdmin, rOps, rReviewer},
	"POST /desk/review":                  {rAdmin, rOps, rReviewer},
	"GET /desk/files/{id}/{field}":       {rWorker},
	"GET /desk/training":                 {rWorker},
	"GET /desk/earnings":                 {rWorker},
	"POST /desk/training/{id}":           {rWorker},
	"GET /desk/attempts/{id}":            {rWorker},
	"POST /desk/attempts/{id}":           {rWorker},
	"GET /client/{$}":                    {rClient, rViewer, rOther},
	"GET /client/projects/new":           {rClient, rOther},
	"POST /client/projects":              {rClient, rOther},
	"GET /client/projects/{id}":          {rClient, rViewer},
	"POST /client/projects/{id}/batches": {rClient},
	"GET /client/batches/{id}/results":   {rClient, rViewer},
	"GET /client/batches/{id}/quality":   {rClient, rViewer},
	"GET /client/invoice":                {rClient, rViewer, rOther},
	"GET /client/invoice.csv":            {rClient, rViewer, rOther},
	"GET /ops/{$}":                       {rAdmin, rOps},
	"GET /ops/impact":                    {rAdmin, rOps},
	"GET /center/{$}":                    {},
	"POST /center/workers":               {},
	"POST /center/workers/{id}/pin":      {},
}

// signIn gives role a new browser session.
func (g *authzRig) signIn(role string) {
	ctx := context.Background()
	secret, err := g.people.CreateSession(ctx, g.users[role].ID, time.Hour)
	if err != nil {
		g.t.Fatal(err)
	}
	ws, err := g.people.Session(ctx, secret)
	if err != nil {
		g.t.Fatal(err)
	}
	g.sessions[role] = [2]string{secret, ws.CSRF}
}

func (g *authzRig) page(role, pattern string) (int, string, string) {
	if pattern == "POST /desk/signout" && role != rAnon {
		defer g.signIn(role) // the call ends the session
	}
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case p == "{name}":
			parts[i] = "desk.css"
		case p == "{field}":
			parts[i] = "text"
		case p == "{id}":
			switch parts[i-1] {
			case "files":
				parts[i] = g.ids["assignment"]
			case "training":
				parts[i] = g.ids["course"]
			case "attempts":
				parts[i] = g.ids["attempt"]
			case "projects":
				parts[i] = g.ids["project"]
			case "batches":
				parts[i] = g.ids["batch"]
			case "workers":
				parts[i] = g.ids["user"]
			}
		}
	}
	path = strings.Join(parts, "/")
	var body io.Reader
	sess, signedIn := g.sessions[role]
	if method == "POST" {
		body = strings.NewReader("csrf=" + sess[1])
	}
	req, _ := http.NewRequest(method, g.srv.URL+path, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if signedIn {
		req.AddCookie(&http.Cookie{Name: "banyan_session", Value: sess[0]})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestPageAuthorizationMatrix(t *testing.T) {
	g := newAuthzRig(t)
	var report strings.Builder
	listed := map[string]bool{}
	webRoles := slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return r == rNode })
	for _, rt := range (&web.Web{}).Routes() {
		listed[rt.Pattern] = true
		allowed, ok := pagePasses[rt.Pattern]
		if !ok {
			t.Errorf("%s has no entry in the page authorization matrix: add one", rt.Pattern)
			continue
		}
		fmt.Fprintf(&report, "%-40s", rt.Pattern)
		for _, role := range webRoles {
			code, location, body := g.page(role, rt.Pattern)
			fmt.Fprintf(&report, " %s:%d", role, code)
			leak := strings.Contains(body, marker)
			if leak {
				report.WriteString("*")
			}
			toSignIn := code == http.StatusSeeOther && location == "/desk/signin"
			denied := toSignIn || code == 401 || code == 403 || code == 404
			switch {
			case allowed == nil:
			case slices.Contains(allowed, role) && (toSignIn || code == 401 || code == 403):
				t.Errorf("%s as %s: %d %s, want to get past authorization", rt.Pattern, role, code, location)
			case !slices.Contains(allowed, role) && !denied:
				t.Errorf("%s as %s: %d %s, want sign-in, 401, 403 or 404", rt.Pattern, role, code, location)
			}
			holder := role == rWorker && strings.HasPrefix(rt.Pattern, "GET /desk/")
			if leak && !slices.Contains(seers, role) && !holder {
				t.Errorf("%s as %s: the page shows the marked client's data", rt.Pattern, role)
			}
		}
		report.WriteString("\n")
	}
	for pattern := range pagePasses {
		if !listed[pattern] {
			t.Errorf("the page matrix lists %s, which is not a page", pattern)
		}
	}
	if path := os.Getenv("BANYAN_AUTHZ_REPORT"); path != "" {
		os.WriteFile(path+".pages", []byte(report.String()), 0o644)
	}
}
