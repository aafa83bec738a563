package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"banyan/internal/auth"
	"banyan/internal/problem"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/work"
)

// goldMisses shows a worker the gold answers they got wrong, to learn from
// or to contest.
func (a *API) goldMisses(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	misses, err := review.GoldMisses(r.Context(), a.Store, u.ID, 100)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listPage[review.GoldMiss]{Items: misses})
}

// contestIn is the request body of contest.
type contestIn struct {
	Reason string `json:"reason"`
}

func (a *API) contest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "only the worker who answered can contest")
	}
	id, err := pathID(r, "assignment")
	if err != nil {
		return err
	}
	var in contestIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Reason, err = reason(in.Reason, 2000, "say why the expected answer is wrong"); err != nil {
		return err
	}
	c, err := review.OpenContest(r.Context(), a.Store, id, p.UserID, in.Reason)
	if err != nil {
		return hidden(err, "gold answer")
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (a *API) listContests(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.CanReview() {
		return errForbidden
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "upheld" && state != "rejected" {
		return problem.New(http.StatusBadRequest, "state: must be open, upheld or rejected")
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, err := review.Contests(r.Context(), a.Store, state, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(cs, pg, func(c review.Contest) string { return c.ID }))
}

// decideContestIn is the request body of decideContest.
type decideContestIn struct {
	Upheld bool            `json:"upheld"`
	Answer json.RawMessage `json:"answer"`
	Note   string          `json:"note"`
}

func (a *API) decideContest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.CanReview() {
		return errForbidden
	}
	id, err := pathID(r, "contest")
	if err != nil {
		return err
	}
	var in decideContestIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := review.ContestByID(r.Context(), a.Store, id)
	if err != nil {
		return hidden(err, "contest")
	}
	var corrected *work.Answer
	if in.Upheld {
		pr, err := a.Dispatch.Project(r.Context(), c.ProjectID)
		if err != nil {
			return err
		}
		if len(in.Answer) == 0 {
			return problem.New(http.StatusUnprocessableEntity, "answer: upholding a contest needs the corrected gold answer")
		}
		ans, err := work.ParseAnswer(pr.Kind, pr.Schema, in.Answer)
		if err != nil {
			return err
		}
		corrected = &ans
	}
	if err := review.DecideContest(r.Context(), a.Store, id, p.UserID, in.Upheld, corrected, in.Note); errors.Is(err, store.ErrNotFound) {
		return errNotVisible("contest")
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
