package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

// The OpenAPI 3.1 document of /api/v1 is built from the table below and
// from the Go types the handlers decode and encode, so a field added to a
// reply is in the document at once. TestOpenAPIMatchesRoutes fails when a
// route has no line here or a line names no route; the API tests check
// every reply they get against the schema documented for it.

// apiOp documents one route.
type apiOp struct {
	summary string
	tag     string
	// query lists the query parameters, each "name: description".
	query []string
	// body is a value of the JSON request body's type; nil when the call
	// takes none.
	body any
	// optional marks a body the call may go without.
	optional bool
	// upload marks a batch-file body (CSV, JSON Lines, Label Studio JSON,
	// or multipart with attachments).
	upload bool
	// status is the reply's status on success.
	status int
	// reply is a value of the JSON reply's type; nil for a reply with no
	// JSON body.
	reply any
	// media lists the reply's other media types (a download).
	media []string
	// idle marks a call that may answer 204 when there is nothing to do.
	idle bool
}

var (
	pageQuery   = []string{"limit: items per page, 1 to 500 (default 50)", "cursor: next_cursor from the previous page"}
	periodQuery = []string{"from: first day, YYYY-MM-DD", "to: last day, YYYY-MM-DD"}
)

func withPage(q ...string) []string { return append(append([]string{}, q...), pageQuery...) }

// operations documents every route of the table in Routes.
var operations = map[string]apiOp{
	"GET /api/v1/openapi.json": {summary: "This document", tag: "meta", status: 200, reply: map[string]any{}},

	"GET /api/v1/me":                           {summary: "Who the token belongs to", tag: "me", status: 200, reply: meOut{}},
	"POST /api/v1/me/activity":                 {summary: "Report a span of active time (workers)", tag: "me", body: work.Activity{}, status: 201, reply: Created{}},
	"PUT /api/v1/me/declaration":               {summary: "Declare, voluntarily, facts for the impact report (workers)", tag: "me", body: work.Declaration{}, status: 200, reply: work.Declaration{}},
	"GET /api/v1/me/declaration":               {summary: "The worker's latest declaration", tag: "me", status: 200, reply: declarationOut{}},
	"DELETE /api/v1/me/declaration":            {summary: "Withdraw consent: every declaration is erased", tag: "me", status: 200, reply: erasedOut{}},
	"GET /api/v1/me/earnings":                  {summary: "The worker's earnings statement", tag: "money", query: periodQuery, status: 200, reply: ledger.Statement{}},
	"POST /api/v1/clients":                     {summary: "Create a client organisation (hub staff)", tag: "orgs", body: createClientIn{}, status: 201, reply: store.Org{}},
	"GET /api/v1/clients":                      {summary: "List clients (a client sees itself)", tag: "orgs", query: pageQuery, status: 200, reply: listPage[store.Org]{}},
	"GET /api/v1/clients/{id}":                 {summary: "One client", tag: "orgs", status: 200, reply: store.Org{}},
	"GET /api/v1/clients/{id}/invoice":         {summary: "A client's invoice for a period", tag: "money", query: append(append([]string{}, periodQuery...), "format: csv for a CSV file"), status: 200, reply: ledger.Invoice{}, media: []string{"text/csv"}},
	"GET /api/v1/centers":                      {summary: "Centers with their last contact and backlog (hub staff)", tag: "centers", query: pageQuery, status: 200, reply: listPage[store.CenterLink]{}},
	"GET /api/v1/audit":                        {summary: "The audit log, newest first", tag: "audit", query: withPage("org_id: only this organisation's events"), status: 200, reply: listPage[audit.Event]{}},
	"POST /api/v1/centers/{id}/recall":         {summary: "Take back a center's leased tasks", tag: "centers", body: recallFromCenterIn{}, optional: true, status: 200, reply: recallOut{}},
	"POST /api/v1/centers/{id}/revoke":         {summary: "Revoke a center's sync tokens (a stolen PC stops syncing)", tag: "centers", status: 200, reply: revokeOut{}},
	"PUT /api/v1/centers/{id}/payee":           {summary: "Set where a center's share is paid", tag: "money", body: setPayeeIn{}, status: 200, reply: payeeOut{}},
	"GET /api/v1/centers/{id}/payout":          {summary: "A center's payout file for a period", tag: "money", query: append(append([]string{}, periodQuery...), "format: json for JSON instead of the bank's CSV"), status: 200, reply: payoutOut{}, media: []string{"text/csv"}},
	"POST /api/v1/orgs/{id}/users":             {summary: "Add a user to an organisation", tag: "orgs", body: createUserIn{}, status: 201, reply: store.User{}},
	"GET /api/v1/orgs/{id}/users":              {summary: "List an organisation's users", tag: "orgs", query: pageQuery, status: 200, reply: listPage[store.User]{}},
	"POST /api/v1/users/{id}/tokens":           {summary: "Issue an API token; the secret is shown once", tag: "orgs", body: createTokenIn{}, optional: true, status: 201, reply: userToken{}},
	"POST /api/v1/users/{id}/pin":              {summary: "Issue a worker's sign-in PIN; shown once", tag: "orgs", body: issueSignInIn{}, optional: true, status: 201, reply: signInOut{}},
	"POST /api/v1/users/{id}/password":         {summary: "Issue a sign-in password; shown once", tag: "orgs", body: issueSignInIn{}, optional: true, status: 201, reply: signInOut{}},
	"DELETE /api/v1/tokens/{id}":               {summary: "Revoke a token", tag: "orgs", status: 204},
	"GET /api/v1/users/{id}/skills":            {summary: "A worker's skills and accuracy", tag: "quality", status: 200, reply: listPage[store.WorkerSkill]{}},
	"POST /api/v1/users/{id}/skills/reinstate": {summary: "Reinstate a suspended worker's skill", tag: "quality", body: reinstateIn{}, status: 204},
	"POST /api/v1/users/{id}/skills/suspend":   {summary: "Suspend a worker from a skill", tag: "quality", body: suspendIn{}, status: 204},
	"GET /api/v1/users/{id}/gold-misses":       {summary: "Gold tasks a worker got wrong", tag: "quality", status: 200, reply: listPage[store.GoldMiss]{}},
	"PUT /api/v1/users/{id}/payee":             {summary: "Set where a worker is paid", tag: "money", body: setPayeeIn{}, status: 200, reply: payeeOut{}},
	"GET /api/v1/users/{id}/earnings":          {summary: "A worker's earnings statement", tag: "money", query: periodQuery, status: 200, reply: ledger.Statement{}},
	"POST /api/v1/users/{id}/bonus":            {summary: "Pay a worker a bonus (idempotency key required)", tag: "money", body: bonusIn{}, status: 201, reply: bonusOut{}},

	"POST /api/v1/projects":              {summary: "Create a project", tag: "projects", body: projectIn{}, status: 201, reply: work.Project{}},
	"GET /api/v1/projects":               {summary: "List projects", tag: "projects", query: withPage("client_id: only this client's projects (hub staff)"), status: 200, reply: listPage[work.Project]{}},
	"GET /api/v1/projects/{id}":          {summary: "One project", tag: "projects", status: 200, reply: work.Project{}},
	"PATCH /api/v1/projects/{id}":        {summary: "Change a project's name, instructions or answer-time floor", tag: "projects", body: updateProjectIn{}, status: 200, reply: work.Project{}},
	"POST /api/v1/projects/{id}/batches": {summary: "Upload a batch of tasks", tag: "batches", upload: true, query: []string{"name: the batch's name", "deadline: when results are due, RFC 3339", "format: csv, jsonl or labelstudio when the media type does not say"}, status: 201, reply: work.Batch{}},
	"POST /api/v1/projects/{id}/gold":    {summary: "Upload gold tasks with their known answers", tag: "quality", upload: true, query: []string{"name: the batch's name", "format: csv, jsonl or labelstudio when the media type does not say"}, status: 201, reply: work.Batch{}},
	"GET /api/v1/projects/{id}/batches":  {summary: "List a project's batches", tag: "batches", query: pageQuery, status: 200, reply: listPage[work.Batch]{}},
	"GET /api/v1/projects/{id}/results":  {summary: "Download a project's results", tag: "batches", query: []string{"format: jsonl (default), csv or labelstudio"}, status: 200, media: []string{"application/jsonl", "text/csv", "application/json"}},
	"GET /api/v1/projects/{id}/review":   {summary: "Tasks waiting for review, with their answers", tag: "quality", query: pageQuery, status: 200, reply: listPage[reviewItem]{}},
	"POST /api/v1/projects/{id}/refit":   {summary: "Re-estimate worker accuracies and re-decide open tasks", tag: "quality", status: 200, reply: dispatch.RefitReport{}},
	"PUT /api/v1/projects/{id}/rates":    {summary: "Set a project's rate card", tag: "money", body: rateCardIn{}, status: 200, reply: store.RateCard{}},
	"GET /api/v1/projects/{id}/rates":    {summary: "A project's rate card", tag: "money", status: 200, reply: store.RateCard{}},

	"GET /api/v1/ledger":                     {summary: "Verify the ledger's chain and show its totals (hub staff)", tag: "money", status: 200, reply: ledgerOut{}},
	"GET /api/v1/impact":                     {summary: "The impact report (hub staff)", tag: "money", query: periodQuery, status: 200, reply: report.Impact{}},
	"POST /api/v1/assignments/{id}/reject":   {summary: "Reject a held answer, with a reason", tag: "money", body: judgeIn{}, status: 200, reply: store.Approval{}},
	"POST /api/v1/assignments/{id}/overturn": {summary: "Overturn a rejection within the rate card's window", tag: "money", body: judgeIn{}, status: 200, reply: store.Approval{}},
	"POST /api/v1/tasks/{id}/reject":         {summary: "A client rejects a delivered result: rework and a credit note", tag: "money", body: rejectResultIn{}, status: 200, reply: reworkOut{}},
	"POST /api/v1/webhooks":                  {summary: "Subscribe a URL to a client's events", tag: "webhooks", body: createWebhookIn{}, status: 201, reply: webhook.Webhook{}},
	"GET /api/v1/webhooks":                   {summary: "List webhook subscriptions", tag: "webhooks", query: []string{"client_id: only this client's (hub staff)"}, status: 200, reply: listPage[webhook.Webhook]{}},
	"DELETE /api/v1/webhooks/{id}":           {summary: "Remove a subscription", tag: "webhooks", status: 204},
	"GET /api/v1/webhooks/{id}/deliveries":   {summary: "A subscription's recent deliveries", tag: "webhooks", status: 200, reply: listPage[webhook.Delivery]{}},
	"POST /api/v1/webhooks/{id}/test":        {summary: "Send a signed ping now", tag: "webhooks", status: 200, reply: webhook.Delivery{}},

	"GET /api/v1/batches/{id}":         {summary: "A batch and its progress", tag: "batches", status: 200, reply: batchOut{}},
	"POST /api/v1/batches/{id}/cancel": {summary: "Cancel a batch's unfinished tasks", tag: "batches", status: 200, reply: work.Batch{}},
	"GET /api/v1/batches/{id}/tasks":   {summary: "List a batch's tasks", tag: "batches", query: withPage("state: only tasks in this state"), status: 200, reply: listPage[work.Task]{}},
	"GET /api/v1/batches/{id}/results": {summary: "Download a batch's results", tag: "batches", query: []string{"format: jsonl (default), csv or labelstudio"}, status: 200, media: []string{"application/jsonl", "text/csv", "application/json"}},
	"GET /api/v1/batches/{id}/quality": {summary: "A batch's measured quality", tag: "quality", status: 200, reply: store.QualityReport{}},
	"GET /api/v1/tasks/{id}":           {summary: "One task", tag: "batches", status: 200, reply: work.Task{}},
	"POST /api/v1/tasks/{id}/resolve":  {summary: "Settle a task by review", tag: "quality", body: resolveTaskIn{}, status: 200, reply: resolveOut{}},

	"POST /api/v1/courses":                       {summary: "Create a training or qualification course", tag: "training", body: courseIn{}, status: 201, reply: work.Course{}},
	"GET /api/v1/courses":                        {summary: "List courses", tag: "training", query: pageQuery, status: 200, reply: listPage[work.Course]{}},
	"GET /api/v1/courses/{id}":                   {summary: "One course", tag: "training", status: 200, reply: work.Course{}},
	"POST /api/v1/courses/{id}/attempts":         {summary: "Start an attempt at a course (workers)", tag: "training", status: 201, reply: work.Attempt{}},
	"GET /api/v1/attempts/{id}":                  {summary: "One attempt", tag: "training", status: 200, reply: work.Attempt{}},
	"GET /api/v1/attempts/{id}/next":             {summary: "The attempt's next item", tag: "training", status: 200, reply: itemOut{}, idle: true},
	"POST /api/v1/attempts/{id}/answers":         {summary: "Answer an item of the attempt", tag: "training", body: answerItemIn{}, status: 200, reply: attemptAnswerOut{}},
	"POST /api/v1/work/next":                     {summary: "The worker's next task (204 when there is none)", tag: "work", body: nextTaskIn{}, optional: true, status: 200, reply: Offer{}, idle: true},
	"POST /api/v1/assignments/{id}/answer":       {summary: "Answer an assignment", tag: "work", body: AnswerIn{}, status: 200, reply: AnswerReply{}},
	"GET /api/v1/assignments/{id}/files/{field}": {summary: "An attachment of the task in hand, in its own media type", tag: "work", status: 200, media: []string{"*/*"}},
	"POST /api/v1/assignments/{id}/contest":      {summary: "Contest a gold verdict", tag: "quality", body: contestIn{}, status: 201, reply: store.Contest{}},
	"GET /api/v1/contests":                       {summary: "List contests", tag: "quality", query: withPage("state: open or decided"), status: 200, reply: listPage[store.Contest]{}},
	"POST /api/v1/contests/{id}/decide":          {summary: "Decide a contest", tag: "quality", body: decideContestIn{}, status: 204},
}

// apiVersion is the version of the API the document describes (its
// paths say v1); it changes when the API does, not with each build.
const apiVersion = "1.0"

// OpenAPI returns the hub's document, as JSON.
func OpenAPI() ([]byte, error) {
	return build("Banyan hub API", "The hub's API for clients, hub staff, reviewers and workers.", operations)
}

// Doc documents a route served outside this package's table: a village
// center's own calls.
type Doc struct {
	Summary, Tag string
	// Body is a value of the JSON request body's type; nil for none.
	Body   any
	Status int
	// Reply is a value of the JSON reply's type; nil for none.
	Reply any
	// Idle marks a call that may answer 204 when there is nothing to do.
	Idle bool
}

// OpenAPIFor is the document of a server that serves the named routes of
// this API's table (and this document) and, besides, routes of its own: a
// village center's LAN API.
func OpenAPIFor(title, about string, patterns []string, own map[string]Doc) ([]byte, error) {
	ops := map[string]apiOp{"GET /api/v1/openapi.json": operations["GET /api/v1/openapi.json"]}
	for _, p := range patterns {
		op, ok := operations[p]
		if !ok {
			return nil, fmt.Errorf("openapi: %q is not a route of the API", p)
		}
		ops[p] = op
	}
	for p, d := range own {
		ops[p] = apiOp{summary: d.Summary, tag: d.Tag, body: d.Body, status: d.Status, reply: d.Reply, idle: d.Idle}
	}
	return build(title, about, ops)
}

func build(title, about string, ops map[string]apiOp) ([]byte, error) {
	g := &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
	problemRef := g.reply(reflect.TypeFor[problem.Problem]())
	paths := map[string]map[string]any{}
	patterns := make([]string, 0, len(ops))
	for p := range ops {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, pattern := range patterns {
		op := ops[pattern]
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			return nil, fmt.Errorf("openapi: pattern %q has no method", pattern)
		}
		o := map[string]any{
			"summary":     op.summary,
			"operationId": operationID(method, path),
			"tags":        []string{op.tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range op.query {
			name, desc, _ := strings.Cut(q, ": ")
			params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch {
		case op.upload:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv":                          map[string]any{"schema": map[string]any{"type": "string"}},
				"application/jsonl":                 map[string]any{"schema": map[string]any{"type": "string"}},
				"application/vnd.label-studio+json": map[string]any{"schema": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}},
				"multipart/form-data":               map[string]any{"schema": map[string]any{"type": "object"}},
			}}
		case op.body != nil:
			o["requestBody"] = map[string]any{"required": !op.optional, "content": map[string]any{
				"application/json": map[string]any{"schema": g.request(reflect.TypeOf(op.body))}}}
		}
		responses := map[string]any{}
		ok200 := map[string]any{"description": http.StatusText(op.status)}
		content := map[string]any{}
		if op.reply != nil {
			content["application/json"] = map[string]any{"schema": g.reply(reflect.TypeOf(op.reply))}
		}
		for _, m := range op.media {
			content[m] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		if len(content) > 0 {
			ok200["content"] = content
		}
		responses[fmt.Sprint(op.status)] = ok200
		if op.idle {
			responses["204"] = map[string]any{"description": "Nothing to do now"}
		}
		problem := map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}
		responses["4XX"] = map[string]any{"description": "The call was refused: its detail says what to fix", "content": problem}
		responses["default"] = map[string]any{"description": "A problem (RFC 9457)", "content": problem}
		o["responses"] = responses
		if pattern != "GET /api/v1/openapi.json" {
			o["security"] = []any{map[string]any{"bearer": []string{}}}
		} else {
			o["security"] = []any{}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = o
	}
	tags := map[string]bool{}
	for _, op := range ops {
		tags[op.tag] = true
	}
	var tagList []any
	for _, t := range sortedKeys(tags) {
		tagList = append(tagList, map[string]any{"name": t, "description": tagDescriptions[t]})
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       title,
			"version":     apiVersion,
			"description": about + " Every call but this document's takes `Authorization: Bearer <token>`. Errors are RFC 9457 problems. Lists are paged with `limit` and `cursor`.",
			"license":     map[string]any{"name": "Proprietary", "identifier": "LicenseRef-Banyan"},
		},
		"servers": []any{map[string]any{"url": "/", "description": "this hub"}},
		"tags":    tagList,
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API token (bny_…) issued by POST /api/v1/users/{id}/tokens"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

var tagDescriptions = map[string]string{
	"meta":     "About the API itself",
	"me":       "The caller's own records",
	"orgs":     "Organisations, users, tokens and sign-in secrets",
	"centers":  "Village centers",
	"audit":    "The hash-chained audit log",
	"projects": "Projects",
	"batches":  "Batches, tasks and results",
	"quality":  "Gold, review, skills and contests",
	"training": "Training and qualification",
	"work":     "A worker's tasks",
	"money":    "Rates, approvals, the ledger, invoices, pay and impact",
	"webhooks": "Signed event deliveries to a client's URL",
	"center":   "A village center's own calls, on its LAN",
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// operationID names an operation from its method and path:
// "POST /api/v1/projects/{id}/batches" is post_projects_id_batches.
func operationID(method, path string) string {
	p := strings.TrimPrefix(path, "/api/v1/")
	p = strings.NewReplacer("{", "", "}", "", "/", "_", "-", "_", ".", "_").Replace(p)
	return strings.ToLower(method) + "_" + p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// schemaGen turns Go types into JSON Schema (draft 2020-12, as OpenAPI
// 3.1 uses), following encoding/json's rules. Named reply types become
// components; a field without omitempty is required; a pointer, slice or
// map may be null.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
}

// reply describes a type the API sends.
func (g *schemaGen) reply(t reflect.Type) map[string]any { return g.schema(t, true) }

// request describes a type the API decodes: no member is required (the
// handler says which it needs), unknown members are refused.
func (g *schemaGen) request(t reflect.Type) map[string]any { return g.schema(t, false) }

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (g *schemaGen) schema(t reflect.Type, reply bool) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.schema(t.Elem(), reply))
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		s := map[string]any{"type": "array", "items": g.schema(t.Elem(), reply)}
		if t.Kind() == reflect.Slice {
			s = nullable(s)
		}
		return s
	case reflect.Map:
		return nullable(map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), reply)})
	case reflect.Struct:
		if !reply || t.Name() == "" || strings.Contains(t.Name(), "[") {
			return g.object(t, reply)
		}
		name, ok := g.names[t]
		if !ok {
			name = g.componentName(t)
			g.names[t] = name
			g.components[name] = map[string]any{} // a placeholder while the type is being described
			g.components[name] = g.object(t, reply)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

// componentName is the type's name, with its package's when two packages
// use the same name.
func (g *schemaGen) componentName(t reflect.Type) string {
	name := strings.ToUpper(t.Name()[:1]) + t.Name()[1:]
	for other, n := range g.names {
		if n == name && other != t {
			pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			return strings.ToUpper(pkg[:1]) + pkg[1:] + name
		}
	}
	return name
}

type jsonField struct {
	name      string
	index     []int
	t         reflect.Type
	omitEmpty bool
	asString  bool
}

// fields lists a struct's JSON members as encoding/json sees them: embedded
// structs' fields promoted, the shallowest of a name winning, a name at one
// depth twice dropping both.
func fields(t reflect.Type) []jsonField {
	type found struct {
		f     jsonField
		depth int
		count int
	}
	byName := map[string]*found{}
	var order []string
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, append(append([]int{}, index...), i), depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			jf := jsonField{name: name, index: append(append([]int{}, index...), i), t: ft,
				omitEmpty: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"),
				asString:  strings.Contains(","+opts+",", ",string,")}
			switch f := byName[name]; {
			case f == nil:
				byName[name] = &found{f: jf, depth: depth, count: 1}
				order = append(order, name)
			case depth < f.depth:
				*f = found{f: jf, depth: depth, count: 1}
			case depth == f.depth:
				f.count++
			}
		}
	}
	walk(t, nil, 0)
	var out []jsonField
	for _, n := range order {
		if f := byName[n]; f.count == 1 {
			out = append(out, f.f)
		}
	}
	return out
}

func (g *schemaGen) object(t reflect.Type, reply bool) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields(t) {
		s := g.schema(f.t, reply)
		if f.asString {
			s = map[string]any{"type": "string"}
		}
		props[f.name] = s
		if reply && !f.omitEmpty {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok {
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []string{typ, "null"}
		return out
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// hubDocument is the hub's document, made once: it depends only on the code.
var hubDocument = sync.OnceValues(OpenAPI)

// openAPIDoc serves the document; it needs no token.
func (a *API) openAPIDoc(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	doc, err := hubDocument()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(doc)
	return err
}
