package api

import (
	"errors"
	"net/http"

	"banyan/internal/problem"
	"banyan/internal/store"
)

// errNotVisible is what a caller gets for something that does not exist or
// that they may not see: the two look the same, so ids of other clients'
// records can't be probed.
func errNotVisible(what string) error {
	return problem.New(http.StatusNotFound, "no such %s", what)
}

// hidden passes err on, except that a record that does not exist answers
// as errNotVisible(what), like one the caller may not see.
func hidden(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotVisible(what)
	}
	return err
}

var errForbidden = problem.New(http.StatusForbidden, "your role may not do this")
