package api

import (
	"errors"
	"net/http"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/store"
)

// createClientIn is the request body of createClient.
type createClientIn struct {
	Name string `json:"name"`
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	var in createClientIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	name, err := validName("name", in.Name)
	if err != nil {
		return err
	}
	o, err := a.Auth.CreateOrg(r.Context(), auth.OrgClient, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, o)
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		// A client user sees only their own client.
		if !p.CanReadClient(p.OrgID) {
			return errForbidden
		}
		o, err := a.Auth.Org(r.Context(), p.OrgID)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, listPage[auth.Org]{Items: []auth.Org{o}})
	}
	return a.listOrgs(w, r, auth.OrgClient)
}

// listCenters lists centers with what the hub knows of their links: last
// contact, protocol and version, records waiting at the center, leased
// tasks and answers received.
func (a *API) listCenters(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, err := report.CenterLinks(r.Context(), a.Store, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(cs, pg, func(c report.CenterLink) string { return c.ID }))
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request, kind string) error {
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	orgs, err := a.Auth.Orgs(r.Context(), kind, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(orgs, pg, func(o auth.Org) string { return o.ID }))
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "client")
	if err != nil {
		return err
	}
	if !p.CanReadClient(id) {
		return errNotVisible("client")
	}
	o, err := a.Auth.Org(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.Kind != auth.OrgClient) {
		return errNotVisible("client")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

// visibleOrg returns the org in the path if the principal may manage it.
func (a *API) managedOrg(r *http.Request, p auth.Principal) (auth.Org, error) {
	id, err := pathID(r, "organisation")
	if err != nil {
		return auth.Org{}, err
	}
	o, err := a.Auth.Org(r.Context(), id)
	if err != nil {
		return auth.Org{}, hidden(err, "organisation")
	}
	if !p.CanManageOrg(o.ID, o.Kind) {
		if p.OrgID == o.ID || p.IsHubStaff() {
			return auth.Org{}, errForbidden
		}
		return auth.Org{}, errNotVisible("organisation")
	}
	return o, nil
}

// createUserIn is the request body of createUser.
type createUserIn struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	o, err := a.managedOrg(r, p)
	if err != nil {
		return err
	}
	var in createUserIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	name, err := validName("name", in.Name)
	if err != nil {
		return err
	}
	role, err := auth.RoleFor(o.Kind, in.Role)
	if err != nil {
		return problem.New(http.StatusUnprocessableEntity, "role: %v", err)
	}
	if role == auth.HubAdmin && p.Role != auth.HubAdmin {
		return errForbidden
	}
	u, err := a.Auth.CreateUser(r.Context(), o.ID, name, string(role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	o, err := a.managedOrg(r, p)
	if err != nil {
		return err
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	users, err := a.Auth.Users(r.Context(), o.ID, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(users, pg, func(u auth.User) string { return u.ID }))
}

// userToken is the one response that carries a token's secret.
type userToken struct {
	auth.Token
	Secret string `json:"token"`
}

// manageableUser is the user in the path, if the principal may manage
// their organisation (a hub admin only by a hub admin).
func (a *API) manageableUser(r *http.Request, p auth.Principal) (auth.User, error) {
	id, err := pathID(r, "user")
	if err != nil {
		return auth.User{}, err
	}
	u, err := a.Auth.User(r.Context(), id)
	if err != nil {
		return auth.User{}, hidden(err, "user")
	}
	o, err := a.Auth.Org(r.Context(), u.OrgID)
	if err != nil {
		return auth.User{}, err
	}
	if !p.CanManageOrg(o.ID, o.Kind) {
		return auth.User{}, errNotVisible("user")
	}
	if u.Role == string(auth.HubAdmin) && p.Role != auth.HubAdmin {
		return auth.User{}, errForbidden
	}
	return u, nil
}

// createTokenIn is the request body of createToken.
type createTokenIn struct {
	Label string `json:"label"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := a.manageableUser(r, p)
	if err != nil {
		return err
	}
	var in createTokenIn
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	if in.Label == "" {
		in.Label = "made " + time.Now().UTC().Format("2006-01-02")
	}
	secret, t, err := a.Auth.Issue(r.Context(), u, in.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, userToken{Token: t, Secret: secret})
}

// issuePIN gives a worker a login and a fresh PIN for the web desk.
func (a *API) issuePIN(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.issueSignIn(w, r, p, true)
}

// issuePassword gives anyone but a worker a login and a fresh password
// for the web pages.
func (a *API) issuePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.issueSignIn(w, r, p, false)
}

// issueSignInIn is the request body of issueSignIn.
type issueSignInIn struct {
	Login string `json:"login"`
}

// issueSignIn gives a user a login and a fresh web secret: a PIN for a
// worker, a password for anyone else.
func (a *API) issueSignIn(w http.ResponseWriter, r *http.Request, p auth.Principal, pin bool) error {
	u, err := a.manageableUser(r, p)
	if err != nil {
		return err
	}
	switch worker := u.Role == string(auth.Worker); {
	case pin && !worker:
		return problem.New(http.StatusUnprocessableEntity, "a PIN is for a worker's desk; this user is a %s", u.Role)
	case !pin && worker:
		return problem.New(http.StatusUnprocessableEntity, "a worker signs in with a PIN: POST /api/v1/users/{id}/pin")
	}
	var in issueSignInIn
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	if in.Login != "" {
		if err := auth.CheckLogin(in.Login); err != nil {
			return problem.New(http.StatusUnprocessableEntity, "%v", err)
		}
	}
	issue := a.Auth.IssuePassword
	if pin {
		issue = a.Auth.IssuePIN
	}
	login, secret, err := issue(r.Context(), u, in.Login)
	if errors.Is(err, store.ErrConflict) {
		return problem.New(http.StatusConflict, "the login %q is taken; choose another", in.Login)
	}
	if err != nil {
		return err
	}
	out := signInOut{UserID: u.ID, Login: login, Password: secret}
	if pin {
		out.PIN, out.Password = secret, ""
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	t, err := a.Auth.Token(r.Context(), id)
	if err != nil {
		return hidden(err, "token")
	}
	o, err := a.Auth.Org(r.Context(), t.OrgID)
	if err != nil {
		return err
	}
	// Anyone may revoke their own token; managers revoke their org's.
	if t.UserID != p.UserID && !p.CanManageOrg(o.ID, o.Kind) {
		return errNotVisible("token")
	}
	if err := a.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// workerInView returns the user in the path if the principal may look
// after them: the user themself, hub staff, or the manager of their center.
func (a *API) workerInView(r *http.Request, p auth.Principal) (auth.User, error) {
	id, err := pathID(r, "user")
	if err != nil {
		return auth.User{}, err
	}
	u, err := a.Auth.User(r.Context(), id)
	if err != nil {
		return auth.User{}, hidden(err, "user")
	}
	if u.ID != p.UserID && !p.IsHubStaff() && !(p.Role == auth.CenterManager && p.OrgID == u.OrgID) {
		return auth.User{}, errNotVisible("user")
	}
	return u, nil
}

// userSkills shows a worker's skills.
func (a *API) userSkills(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	skills, err := dispatch.Skills(r.Context(), a.Store, u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listPage[dispatch.WorkerSkill]{Items: skills})
}
