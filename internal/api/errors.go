package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ingest"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Problem is an RFC 9457 problem detail. Detail is written for the person
// who has to fix the request; internal causes never go in it.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []ProblemField `json:"errors,omitempty"`
}

// ProblemField points at one wrong part of the input.
type ProblemField struct {
	Line   int    `json:"line,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func problem(status int, detail string, args ...any) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(detail, args...)}
}

// errNotVisible is what a caller gets for something that does not exist or
// that they may not see: the two look the same, so ids of other clients'
// records can't be probed.
func errNotVisible(what string) error {
	return problem(http.StatusNotFound, "no such %s", what)
}

// hidden passes err on, except that a record that does not exist answers
// as errNotVisible(what), like one the caller may not see.
func hidden(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotVisible(what)
	}
	return err
}

var errForbidden = problem(http.StatusForbidden, "your role may not do this")

// toProblem maps any error a handler returns to the problem the caller sees.
func toProblem(err error) (*Problem, bool) {
	var p *Problem
	var ie *ingest.Error
	var ae *work.AnswerError
	var se *work.SpanError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		return p, true
	case errors.As(err, &ie):
		pr := problem(http.StatusUnprocessableEntity, "the batch file was rejected whole and nothing was stored: %s", ie.Error())
		pr.Errors = []ProblemField{{Line: ie.Line, Field: ie.Field, Reason: ie.Reason}}
		return pr, true
	case errors.As(err, &ae):
		pr := problem(http.StatusUnprocessableEntity, "%s", ae.Error())
		pr.Errors = []ProblemField{{Field: ae.Field, Reason: ae.Reason}}
		return pr, true
	case errors.As(err, &se):
		return problem(http.StatusUnprocessableEntity, "%s; nothing was recorded", se.Error()), true
	case errors.As(err, &mb):
		return problem(http.StatusRequestEntityTooLarge, "the request body is larger than the limit of %d bytes", mb.Limit), true
	case errors.Is(err, work.ErrInvalidSchema):
		return problem(http.StatusUnprocessableEntity, "%s", err.Error()), true
	case errors.Is(err, auth.ErrUnauthenticated):
		return problem(http.StatusUnauthorized, "send a valid API token as 'Authorization: Bearer <token>'"), true
	case errors.Is(err, store.ErrCoolingDown):
		return problem(http.StatusConflict, "%s", publicMessage(err)), true
	case errors.Is(err, store.ErrAssignmentClosed):
		return problem(http.StatusConflict, "this assignment timed out and its task no longer takes answers; ask for the next task"), true
	case errors.Is(err, store.ErrConflict):
		return problem(http.StatusConflict, "%s", publicMessage(err)), true
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, "not found"), true
	case errors.Is(err, dispatch.ErrNoWork):
		return problem(http.StatusNotFound, "no task available"), true
	}
	return problem(http.StatusInternalServerError, "something went wrong on the server; it has been logged"), false
}

// publicMessage strips the "store: " context that callers need not see.
func publicMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"store: "} {
		if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
			msg = msg[len(prefix):]
		}
	}
	return msg
}

// NewProblem makes a problem with the given status and a detail that says
// what to fix. Other HTTP surfaces (the uplink) use it so every surface
// answers errors the same way.
func NewProblem(status int, detail string, args ...any) *Problem {
	return problem(status, detail, args...)
}

// WriteProblem answers a request with the problem that err maps to,
// logging causes the caller must not see.
func WriteProblem(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	writeProblem(w, log, r, err)
}

func writeProblem(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	p, known := toProblem(err)
	switch {
	case !known && r.Context().Err() != nil:
		// The caller went away (a center's link dropped, a client gave
		// up): nothing failed here, and nobody is left to answer.
		log.Debug("caller left before the reply", "method", r.Method, "path", r.URL.Path)
		return
	case !known:
		// The cause goes to the log, never to the caller. Paths carry ids
		// only; payloads and tokens are never logged.
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
