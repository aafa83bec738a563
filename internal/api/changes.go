package api

import (
	"net/http"
	"strings"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/work"
)

// updateProjectIn is the request body of updateProject.
type updateProjectIn struct {
	Name         *string `json:"name"`
	Instructions *string `json:"instructions"`
	MinAnswerMS  *int64  `json:"min_answer_ms"`
	Priority     *int    `json:"priority"`
}

// updateProject changes a running project's name, instructions,
// fast-answer floor or priority; centers holding its tasks hear of the
// first three on their feed.
func (a *API) updateProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	if !p.CanManageClient(pr.ClientID) {
		return errForbidden
	}
	var in updateProjectIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil && in.Instructions == nil && in.MinAnswerMS == nil && in.Priority == nil {
		return problem.New(http.StatusUnprocessableEntity, "send at least one of name, instructions, min_answer_ms, priority (the kind, schema and quality policy of a running project are fixed)")
	}
	if in.Name != nil {
		name, err := validName("name", *in.Name)
		if err != nil {
			return err
		}
		in.Name = &name
	}
	if in.Instructions != nil && len(*in.Instructions) > maxInstructions {
		return problem.New(http.StatusUnprocessableEntity, "instructions: at most %d bytes", maxInstructions)
	}
	if in.MinAnswerMS != nil && (*in.MinAnswerMS < 0 || *in.MinAnswerMS > 3_600_000) {
		return problem.New(http.StatusUnprocessableEntity, "min_answer_ms: from 0 to 3600000")
	}
	if in.Priority != nil {
		if err := checkPriority(*in.Priority); err != nil {
			return err
		}
	}
	out, err := a.Dispatch.UpdateProject(r.Context(), pr.ID, dispatch.ProjectChange{Name: in.Name, Instructions: in.Instructions, MinAnswerMS: in.MinAnswerMS,
		Priority: in.Priority})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// cancelBatch stops a batch: unfinished tasks fail, hub assignments end,
// center leases are recalled. Answers given so far are kept.
func (a *API) cancelBatch(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, err := a.visibleBatch(r, p)
	if err != nil {
		return err
	}
	if !p.CanManageClient(b.ClientID) {
		return errForbidden
	}
	b, err = a.Dispatch.CancelBatch(r.Context(), b.ID)
	if err != nil {
		return err
	}
	a.Log.Info("batch cancelled", "batch", b.ID)
	return writeJSON(w, http.StatusOK, b)
}

// recallFromCenterIn is the request body of recallFromCenter.
type recallFromCenterIn struct {
	BatchID string `json:"batch_id"`
	Reason  string `json:"reason"`
}

// recallFromCenter takes a center's leases back, all or one batch's.
func (a *API) recallFromCenter(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	id, err := pathID(r, "center")
	if err != nil {
		return err
	}
	org, err := a.Auth.Org(r.Context(), id)
	if err != nil || org.Kind != auth.OrgCenter {
		return hidden(store.ErrNotFound, "center")
	}
	var in recallFromCenterIn
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	if in.BatchID != "" && !work.ValidID(in.BatchID) {
		return problem.New(http.StatusUnprocessableEntity, "batch_id: not a batch id")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		in.Reason = "recalled by hub staff"
	}
	n, err := a.Dispatch.RecallFromCenter(r.Context(), org.ID, in.BatchID, in.Reason)
	if err != nil {
		return err
	}
	a.Log.Info("leases recalled", "center", org.ID, "batch", in.BatchID, "leases", n)
	return writeJSON(w, http.StatusOK, recallOut{Recalled: n})
}

// revokeCenter revokes a village center's sync tokens: a stolen or lost
// center PC stops syncing at once. Its saved work is not lost to the hub
// only if it synced before; a new token comes from 'banyan admin center
// add' or POST /api/v1/users/{id}/tokens for its machine user.
func (a *API) revokeCenter(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.HubAdmin {
		return problem.New(http.StatusForbidden, "revoking a center is for a hub admin")
	}
	id, err := pathID(r, "center")
	if err != nil {
		return err
	}
	org, err := a.Auth.Org(r.Context(), id)
	if err != nil || org.Kind != auth.OrgCenter || org.ID == auth.BuiltinCenterOrgID {
		return hidden(store.ErrNotFound, "center")
	}
	n, err := a.Auth.RevokeCenterTokens(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, revokeOut{CenterID: id, TokensRevoked: n})
}
