// Package apitest checks the API's real replies against its OpenAPI
// document, for tests: a reply whose status the document does not list
// for that route, or whose body does not match the documented schema, is
// an error.
package apitest

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"banyan/internal/api"
)

// Checker holds the compiled document.
type Checker struct {
	mux    *http.ServeMux
	doc    map[string]any
	comp   *jsonschema.Compiler
	mu     sync.Mutex
	cached map[string]*jsonschema.Schema
}

const docURL = "file:///openapi.json"

// New compiles the hub API's document.
func New() (*Checker, error) {
	raw, err := api.OpenAPI()
	if err != nil {
		return nil, err
	}
	return NewFor(raw)
}

// NewFor compiles a document (a village center's, say): the routes it
// lists are the routes the checker knows.
func NewFor(raw []byte) (*Checker, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("apitest: the document is not a JSON object")
	}
	mux := http.NewServeMux()
	paths, _ := m["paths"].(map[string]any)
	for path, ops := range paths {
		for method := range ops.(map[string]any) {
			mux.Handle(strings.ToUpper(method)+" "+path, http.NotFoundHandler())
		}
	}
	return &Checker{mux: mux, doc: m, comp: c, cached: map[string]*jsonschema.Schema{}}, nil
}

// Check says what is wrong, if anything, with a reply to method and
// target (a path with its query) with this status, content type and body.
func (c *Checker) Check(method, target string, status int, contentType string, body []byte) error {
	req, err := http.NewRequest(method, "http://hub"+target, nil)
	if err != nil {
		return err
	}
	_, pattern := c.mux.Handler(req)
	media, _, _ := mime.ParseMediaType(contentType)
	if status >= 400 {
		if media != "application/problem+json" {
			return fmt.Errorf("%s %s: status %d with content type %q, want application/problem+json", method, target, status, contentType)
		}
		return c.validate("#/components/schemas/Problem", body, method, target)
	}
	if pattern == "" {
		return fmt.Errorf("%s %s: status %d from a path that is no route", method, target, status)
	}
	path := pattern[strings.Index(pattern, " ")+1:]
	verb := strings.ToLower(pattern[:strings.Index(pattern, " ")])
	op, _ := c.doc["paths"].(map[string]any)[path].(map[string]any)[verb].(map[string]any)
	if op == nil {
		return fmt.Errorf("%s: not in the document", pattern)
	}
	resp, ok := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented for %s", method, target, status, pattern)
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("%s %s: status %d documented without a body, got %d bytes", method, target, status, len(body))
		}
		return nil
	}
	_, any := content["*/*"]
	if _, ok := content[media]; !ok && !any {
		return fmt.Errorf("%s %s: content type %q is not documented for status %d of %s", method, target, contentType, status, pattern)
	}
	if media != "application/json" {
		return nil
	}
	ptr := "#/paths/" + escape(path) + "/" + verb + "/responses/" + strconv.Itoa(status) + "/content/" + escape(media) + "/schema"
	return c.validate(ptr, body, method, target)
}

func (c *Checker) validate(ptr string, body []byte, method, target string) error {
	c.mu.Lock()
	s, ok := c.cached[ptr]
	if !ok {
		var err error
		if s, err = c.comp.Compile(docURL + ptr); err != nil {
			c.mu.Unlock()
			return fmt.Errorf("compile %s: %w", ptr, err)
		}
		c.cached[ptr] = s
	}
	c.mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: the reply is not JSON: %v", method, target, err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("%s %s: the reply does not match the documented schema: %v", method, target, err)
	}
	return nil
}

// escape makes a JSON pointer token of s.
func escape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
