package api

import (
	"errors"
	"net/http"
	"time"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/work"
)

// recordActivity takes a span of training time a worker's device
// declares. It stands only if it has passed, overlaps none of the worker's
// other time, keeps their day under the cap and lies within a course
// session the server recorded (work.CheckSpan); then it is paid at the
// hub's hourly rate. Task time is never declared: the server measures it.
func (a *API) recordActivity(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "only workers report their time")
	}
	var in work.Activity
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return problem.New(http.StatusUnprocessableEntity, "%v", err)
	}
	id, err := training.RecordSpan(r.Context(), a.Store, training.ActivityRecord{WorkerID: p.UserID, Activity: in}, a.Spans, a.TrainingRate)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, Created{ID: id})
}

// declare records what a worker chooses to declare about themselves.
func (a *API) declare(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "a declaration is a worker's own")
	}
	var in work.Declaration
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.Validate(time.Now().Year()); err != nil {
		return problem.New(http.StatusUnprocessableEntity, "%v", err)
	}
	if _, err := report.RecordDeclaration(r.Context(), a.Store, report.DeclarationRecord{WorkerID: p.UserID, Declaration: in}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, in)
}

// myDeclaration shows a worker what they declared last.
func (a *API) myDeclaration(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "a declaration is a worker's own")
	}
	d, at, err := report.LatestDeclaration(r.Context(), a.Store, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "you have declared nothing; every question is optional")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, declarationOut{Declaration: d, DeclaredAt: at})
}

// withdrawDeclaration erases everything the worker declared: consent
// withdrawn, nothing is kept.
func (a *API) withdrawDeclaration(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "a declaration is a worker's own")
	}
	n, err := report.WithdrawDeclarations(r.Context(), a.Store, p.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, erasedOut{Erased: n})
}

// auditLog lists audit events, of one organisation with ?org_id=.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	org := r.URL.Query().Get("org_id")
	if org != "" && !work.ValidID(org) {
		return problem.New(http.StatusBadRequest, "org_id: not an organisation id")
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	evs, err := audit.List(r.Context(), a.Store, org, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(evs, pg, func(e audit.Event) string { return e.ID }))
}
