package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"banyan/internal/auth"
	"banyan/internal/problem"
)

// The OpenAPI 3.1 document of /api/v1 is built from the rows of the
// route table and from the Go types the handlers decode and encode, so a
// field added to a reply is in the document at once. A row without its
// summary, a known tag or its reply is refused (TestRoutesCarryOpenAPI);
// the API tests check every reply they get against the schema documented
// for it.

var (
	pageQuery    = []string{"limit: items per page, 1 to 500 (default 50)", "cursor: next_cursor from the previous page"}
	periodQuery  = []string{"from: first day, YYYY-MM-DD", "to: last day, YYYY-MM-DD"}
	resultsQuery = []string{"format: jsonl (default), csv or labelstudio"}
	resultsMedia = []string{"application/jsonl", "text/csv", "application/json"}
	csvMedia     = []string{"text/csv"}
)

// The query parameters of a batch upload.
const (
	batchName    = "name: the batch's name"
	uploadFormat = "format: csv, jsonl or labelstudio when the media type does not say"
)

func withPage(q ...string) []string { return append(append([]string{}, q...), pageQuery...) }

func withPeriod(q ...string) []string { return append(append([]string{}, periodQuery...), q...) }

// apiVersion is the version of the API the document describes (its
// paths say v1); it changes when the API does, not with each build.
const apiVersion = "1.0"

// OpenAPI returns the hub's document, as JSON.
func OpenAPI() ([]byte, error) {
	return OpenAPIFor("Banyan hub API", "The hub's API for clients, hub staff, reviewers and workers.", (&API{}).Routes())
}

// OpenAPIFor is the document of a server that serves routes: the rows of
// this API's table, or a table derived from it (a village center's LAN
// API serves some of the hub's rows and some of its own).
func OpenAPIFor(title, about string, routes []Route) ([]byte, error) {
	g := &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
	problemRef := g.reply(reflect.TypeFor[problem.Problem]())
	paths := map[string]map[string]any{}
	// Sorted, so that the schemas' component names come out the same each
	// time (see componentName).
	routes = slices.SortedFunc(slices.Values(routes), func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	tags := map[string]bool{}
	for i, rt := range routes {
		if i > 0 && routes[i-1].Pattern == rt.Pattern {
			return nil, fmt.Errorf("openapi: route %q is in the table twice", rt.Pattern)
		}
		method, path, ok := strings.Cut(rt.Pattern, " ")
		switch {
		case !ok:
			return nil, fmt.Errorf("openapi: pattern %q has no method", rt.Pattern)
		case rt.Summary == "":
			return nil, fmt.Errorf("openapi: route %q has no summary", rt.Pattern)
		case tagDescriptions[rt.Tag] == "":
			return nil, fmt.Errorf("openapi: route %q: tag %q is not one of tagDescriptions'", rt.Pattern, rt.Tag)
		case rt.Status != 0 && (rt.Status < 200 || rt.Status > 299):
			return nil, fmt.Errorf("openapi: route %q: status %d is not a success", rt.Pattern, rt.Status)
		case rt.Reply == nil && rt.Media == nil && rt.Status != http.StatusNoContent:
			return nil, fmt.Errorf("openapi: route %q: say what it replies (Reply or Media), or give Status 204", rt.Pattern)
		}
		tags[rt.Tag] = true
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		o := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(method, path),
			"tags":        []string{rt.Tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			name, desc, _ := strings.Cut(q, ": ")
			params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch {
		case rt.Upload:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv":                          map[string]any{"schema": map[string]any{"type": "string"}},
				"application/jsonl":                 map[string]any{"schema": map[string]any{"type": "string"}},
				"application/vnd.label-studio+json": map[string]any{"schema": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}},
				"multipart/form-data":               map[string]any{"schema": map[string]any{"type": "object"}},
			}}
		case rt.Body != nil:
			o["requestBody"] = map[string]any{"required": !rt.Optional, "content": map[string]any{
				"application/json": map[string]any{"schema": g.request(reflect.TypeOf(rt.Body))}}}
		}
		responses := map[string]any{}
		ok200 := map[string]any{"description": http.StatusText(status)}
		content := map[string]any{}
		if rt.Reply != nil {
			content["application/json"] = map[string]any{"schema": g.reply(reflect.TypeOf(rt.Reply))}
		}
		for _, m := range rt.Media {
			content[m] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		if len(content) > 0 {
			ok200["content"] = content
		}
		responses[fmt.Sprint(status)] = ok200
		if rt.Idle {
			responses["204"] = map[string]any{"description": "Nothing to do now"}
		}
		problem := map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}
		responses["4XX"] = map[string]any{"description": "The call was refused: its detail says what to fix", "content": problem}
		responses["default"] = map[string]any{"description": "A problem (RFC 9457)", "content": problem}
		o["responses"] = responses
		if rt.Public {
			o["security"] = []any{}
		} else {
			o["security"] = []any{map[string]any{"bearer": []string{}}}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = o
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

// hubDocument is the hub's document, made once: it depends only on the
// code. It is set in init because the document is built from the route
// table, whose row for the document names the handler that serves it.
var hubDocument func() ([]byte, error)

func init() { hubDocument = sync.OnceValues(OpenAPI) }

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
