package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
)

// once runs a money-moving call at most once per idempotency key (the
// Idempotency-Key header, or idempotency_key in the body): the same key
// again gets the first reply, and moves nothing.
func (a *API) once(w http.ResponseWriter, r *http.Request, p auth.Principal, route, key string, fn func() (int, any, error)) error {
	key = idempotencyKey(r, key)
	if len(key) > 200 {
		return problem.New(http.StatusBadRequest, "idempotency key: at most 200 characters")
	}
	if key != "" {
		status, reply, found, err := ledger.Idempotent(r.Context(), a.Store, key, p.UserID, route)
		if err != nil {
			return err
		}
		if found {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replay", "true")
			w.WriteHeader(status)
			w.Write(reply)
			return nil
		}
	}
	status, v, err := fn()
	if err != nil {
		return err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if key != "" {
		if err := ledger.RememberReply(r.Context(), a.Store, key, p.UserID, route, status, body); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

// idempotencyKey is the call's key: the body's, else the Idempotency-Key
// header's.
func idempotencyKey(r *http.Request, inBody string) string {
	if inBody != "" {
		return inBody
	}
	return r.Header.Get("Idempotency-Key")
}

// reason is a required reason, trimmed, of at most limit bytes; why says
// what it should tell.
func reason(s string, limit int, why string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > limit {
		return "", problem.New(http.StatusUnprocessableEntity, "reason: required, up to %d characters: %s", limit, why)
	}
	return s, nil
}

func canJudge(p auth.Principal) bool { return p.IsHubStaff() || p.Role == auth.Reviewer }

// rejectAnswer rejects a held answer with a reason; overturnRejection
// approves it after all, within the rate card's window.
func (a *API) rejectAnswer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.judge(w, r, p, "reject")
}

func (a *API) overturnRejection(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.judge(w, r, p, "overturn")
}

// judgeIn is the request body of judge.
type judgeIn struct {
	Reason string `json:"reason"`
	Key    string `json:"idempotency_key"`
}

func (a *API) judge(w http.ResponseWriter, r *http.Request, p auth.Principal, what string) error {
	if !canJudge(p) {
		return problem.New(http.StatusForbidden, "answers are rejected by reviewers and the hub's staff")
	}
	id, err := pathID(r, "assignment")
	if err != nil {
		return err
	}
	var in judgeIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if what == "reject" {
		if in.Reason, err = reason(in.Reason, 1000, "say why the answer is rejected"); err != nil {
			return err
		}
	}
	return a.once(w, r, p, what+" "+id, in.Key, func() (int, any, error) {
		var ap ledger.Approval
		var err error
		if what == "reject" {
			ap, err = ledger.RejectAnswer(r.Context(), a.Store, id, p.UserID, in.Reason)
		} else {
			ap, err = ledger.OverturnRejection(r.Context(), a.Store, id, p.UserID, in.Reason)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			return 0, nil, problem.New(http.StatusNotFound, "no held answer %s: only answers of projects that wait before approving can be rejected", id)
		case err != nil:
			return 0, nil, err
		}
		return http.StatusOK, ap, nil
	})
}

// bonusIn is the request body of bonus.
type bonusIn struct {
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
	Key    string `json:"idempotency_key"`
}

// bonus pays a worker a bonus, once per idempotency key.
func (a *API) bonus(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	if u.Role != string(auth.Worker) {
		return problem.New(http.StatusUnprocessableEntity, "a bonus is for a worker")
	}
	var in bonusIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.Key = idempotencyKey(r, in.Key)
	switch {
	case in.Amount <= 0 || in.Amount > 10_000_000:
		return problem.New(http.StatusUnprocessableEntity, "amount: paise, from 1 to 10000000")
	case strings.TrimSpace(in.Reason) == "":
		return problem.New(http.StatusUnprocessableEntity, "reason: required")
	case in.Key == "":
		return problem.New(http.StatusUnprocessableEntity, "idempotency_key: required, so a retried bonus is paid once")
	}
	return a.once(w, r, p, "bonus "+u.ID, in.Key, func() (int, any, error) {
		created, err := ledger.Bonus(r.Context(), a.Store, u.ID, in.Amount, p.UserID+":"+in.Key)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, bonusOut{WorkerID: u.ID, Amount: in.Amount, Reason: in.Reason, New: created}, nil
	})
}

// rejectResultIn is the request body of rejectResult.
type rejectResultIn struct {
	Reason string `json:"reason"`
	Key    string `json:"idempotency_key"`
}

// rejectResult is a client's rejection of a delivered result: it goes
// back for rework and the client is credited.
func (a *API) rejectResult(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, pr, err := a.visibleTask(r, p)
	if err != nil {
		return err
	}
	id := t.ID
	if !p.CanManageClient(pr.ClientID) {
		return errForbidden
	}
	var in rejectResultIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Reason, err = reason(in.Reason, 1000, "say what is wrong with the result"); err != nil {
		return err
	}
	return a.once(w, r, p, "reject result "+id, in.Key, func() (int, any, error) {
		err := project.RejectResult(r.Context(), a.Store, id, p.UserID, in.Reason)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, reworkOut{TaskID: id, State: "open", Credited: "the rejected delivery's price"}, nil
	})
}
