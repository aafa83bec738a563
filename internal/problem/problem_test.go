package problem

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"banyan/internal/work"
)

// A reply carries the message meant for the caller — a sentinel's, or
// the one given with Public — and nothing of the context an error picked
// up on its way; an error the table does not know answers 500 with a fixed
// message.
func TestNoInternalTextInReplies(t *testing.T) {
	t.Parallel()
	conflict := NewSentinel(Conflict, "the record's state does not allow this now")
	missing := NewSentinel(NotFound, "not found")
	cases := []struct {
		name   string
		err    error
		status int
		detail string
		known  bool
	}{
		{"a public case, wrapped twice", fmt.Errorf("store: create project: %w", fmt.Errorf("tx 42: %w",
			Public(conflict, "this client already has a project named %q", "Reviews"))),
			http.StatusConflict, `this client already has a project named "Reviews"`, true},
		{"a bare sentinel, wrapped", fmt.Errorf("store: assignment 0193: %w", missing), http.StatusNotFound, "not found", true},
		{"an unknown error", fmt.Errorf("store: claim: %w", errors.New("dial tcp 10.0.0.3:5432: connection refused")),
			http.StatusInternalServerError, "something went wrong on the server; it has been logged", false},
		{"a problem as it is", New(http.StatusTeapot, "short and stout"), http.StatusTeapot, "short and stout", true},
		{"a wrong answer", fmt.Errorf("dispatch: %w", &work.AnswerError{Field: "label", Reason: "not one of ok, spam"}),
			http.StatusUnprocessableEntity, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, known := From(c.err)
			if p.Status != c.status || known != c.known || (c.detail != "" && p.Detail != c.detail) {
				t.Fatalf("got %d %q (known %v), want %d %q (known %v)", p.Status, p.Detail, known, c.status, c.detail, c.known)
			}
			for _, internal := range []string{"store:", "tx 42", "10.0.0.3", "dispatch:"} {
				if strings.Contains(p.Detail, internal) {
					t.Fatalf("the reply %q carries %q", p.Detail, internal)
				}
			}
			if !errors.Is(c.err, conflict) && c.status == http.StatusConflict {
				t.Fatalf("a public case no longer matches its sentinel")
			}
		})
	}
}
