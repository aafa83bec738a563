// Package problem is how every HTTP surface of Banyan answers an error:
// an RFC 9457 problem detail, written for the person who has to fix the
// request, and the one table (From) that maps the errors handlers return
// to statuses. Domains declare the errors callers may see as sentinels of
// a Kind, and say what went wrong with Public; any other error's text —
// wrapped context, internal causes — goes to the log, never into a reply.
// It imports only the pure work package, so every package may use it.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"banyan/internal/work"
)

// Kind is a class of failure a caller can act on.
type Kind int

// The kinds, each answered with its status (see statuses).
const (
	// NotFound: no such record, or one the caller may not see.
	NotFound Kind = iota + 1
	// Conflict: the record's state does not allow the call now.
	Conflict
	// Invalid: the input is wrong; the message says what to fix.
	Invalid
	// Forbidden: the caller's role may not do this.
	Forbidden
	// Unauthenticated: no valid credentials came with the call.
	Unauthenticated
)

// statuses is the one table of what each kind answers.
var statuses = map[Kind]int{
	NotFound:        http.StatusNotFound,
	Conflict:        http.StatusConflict,
	Invalid:         http.StatusUnprocessableEntity,
	Forbidden:       http.StatusForbidden,
	Unauthenticated: http.StatusUnauthorized,
}

// Sentinel is an error a domain declares for callers to see: its kind and
// a message written for them. Compare with errors.Is.
type Sentinel struct {
	kind Kind
	msg  string
}

// NewSentinel declares a sentinel of kind whose message, alone, is what a
// caller is told.
func NewSentinel(kind Kind, msg string) *Sentinel { return &Sentinel{kind: kind, msg: msg} }

func (s *Sentinel) Error() string { return s.msg }

// publicError says, for the caller, what went wrong, as a case of its
// sentinel.
type publicError struct {
	sentinel *Sentinel
	msg      string
}

func (e *publicError) Error() string { return e.msg }
func (e *publicError) Unwrap() error { return e.sentinel }

// Public is a case of sentinel with a message for the caller — what is
// wrong and what to do — made from format and args. It still matches the
// sentinel with errors.Is, however it is wrapped on its way up; the
// wrapping never reaches the caller, this message does.
func Public(sentinel *Sentinel, format string, args ...any) error {
	return &publicError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// Detailed is an error that knows the problem it answers (a batch file's
// error, with its line and field).
type Detailed interface {
	error
	Problem() *Problem
}

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
	var pe *publicError
	var sn *Sentinel
	var de Detailed
	var ae *work.AnswerError
	var se *work.SpanError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &pr):
		return pr, true
	case errors.As(err, &pe):
		return New(statuses[pe.sentinel.kind], "%s", pe.msg), true
	case errors.As(err, &sn):
		return New(statuses[sn.kind], "%s", sn.msg), true
	case errors.As(err, &de):
		return de.Problem(), true
	case errors.As(err, &ae):
		pr := New(http.StatusUnprocessableEntity, "%s", ae.Error())
		pr.Errors = []ProblemField{{Field: ae.Field, Reason: ae.Reason}}
		return pr, true
	case errors.As(err, &se):
		return New(http.StatusUnprocessableEntity, "%s; nothing was recorded", se.Error()), true
	case errors.As(err, &mb):
		return New(http.StatusRequestEntityTooLarge, "the request body is larger than the limit of %d bytes", mb.Limit), true
	case errors.Is(err, work.ErrInvalidSchema):
		// The pure validators' messages name the field and the rule.
		return New(http.StatusUnprocessableEntity, "%s", err.Error()), true
	}
	return New(http.StatusInternalServerError, "something went wrong on the server; it has been logged"), false
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
