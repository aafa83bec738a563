// Package problem is how every HTTP surface of Banyan answers an error:
// an RFC 9457 problem detail, written for the person who has to fix the
// request, and the one table (From) that maps the errors handlers return
// to statuses. Internal causes go to the log, never into a reply.
package problem

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

// ProblemField points at one wrong part of the input. (Its name is the
// one the OpenAPI document has always given it.)
type ProblemField struct {
	Line   int    `json:"line,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// New makes a problem with the given status and a detail that says what to
// fix.
func New(status int, detail string, args ...any) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(detail, args...)}
}

// From maps any error a handler returns to the problem the caller sees;
// known is false for an error the table does not know, which answers 500
// and whose cause belongs in the log.
func From(err error) (p *Problem, known bool) {
	var pr *Problem
	var ie *ingest.Error
	var ae *work.AnswerError
	var se *work.SpanError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &pr):
		return pr, true
	case errors.As(err, &ie):
		pr := New(http.StatusUnprocessableEntity, "the batch file was rejected whole and nothing was stored: %s", ie.Error())
		pr.Errors = []ProblemField{{Line: ie.Line, Field: ie.Field, Reason: ie.Reason}}
		return pr, true
	case errors.As(err, &ae):
		pr := New(http.StatusUnprocessableEntity, "%s", ae.Error())
		pr.Errors = []ProblemField{{Field: ae.Field, Reason: ae.Reason}}
		return pr, true
	case errors.As(err, &se):
		return New(http.StatusUnprocessableEntity, "%s; nothing was recorded", se.Error()), true
	case errors.As(err, &mb):
		return New(http.StatusRequestEntityTooLarge, "the request body is larger than the limit of %d bytes", mb.Limit), true
	case errors.Is(err, work.ErrInvalidSchema):
		return New(http.StatusUnprocessableEntity, "%s", err.Error()), true
	case errors.Is(err, auth.ErrUnauthenticated):
		return New(http.StatusUnauthorized, "send a valid API token as 'Authorization: Bearer <token>'"), true
	case errors.Is(err, store.ErrCoolingDown):
		return New(http.StatusConflict, "%s", publicMessage(err)), true
	case errors.Is(err, store.ErrAssignmentClosed):
		return New(http.StatusConflict, "this assignment timed out and its task no longer takes answers; ask for the next task"), true
	case errors.Is(err, store.ErrConflict):
		return New(http.StatusConflict, "%s", publicMessage(err)), true
	case errors.Is(err, store.ErrNotFound):
		return New(http.StatusNotFound, "not found"), true
	case errors.Is(err, dispatch.ErrNoWork):
		return New(http.StatusNotFound, "no task available"), true
	}
	return New(http.StatusInternalServerError, "something went wrong on the server; it has been logged"), false
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

// Write answers a request with the problem err maps to, logging a cause
// the caller must not see.
func Write(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	p, known := From(err)
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
