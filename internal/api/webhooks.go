package api

import (
	"errors"
	"net/http"
	"slices"

	"banyan/internal/auth"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/webhook"
)

// createWebhookIn is the request body of createWebhook.
type createWebhookIn struct {
	ClientID string   `json:"client_id"`
	URL      string   `json:"url"`
	Events   []string `json:"events"`
}

// createWebhook subscribes a client's URL to events. The signing secret is
// in the reply, this once.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in createWebhookIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ClientID == "" && !p.IsHubStaff() {
		in.ClientID = p.OrgID
	}
	if in.ClientID == "" || !p.CanReadClient(in.ClientID) {
		return errNotVisible("client")
	}
	if !p.CanManageClient(in.ClientID) {
		return errForbidden
	}
	if len(in.Events) == 0 {
		return problem.New(http.StatusUnprocessableEntity, "events: name at least one of %v", webhook.Events)
	}
	for _, e := range in.Events {
		if !slices.Contains(webhook.Events, e) {
			return problem.New(http.StatusUnprocessableEntity, "events: %q is not one of %v", e, webhook.Events)
		}
	}
	if len(in.URL) > 2000 {
		return problem.New(http.StatusUnprocessableEntity, "url: at most 2000 characters")
	}
	if err := webhook.CheckURL(r.Context(), in.URL, a.AllowPrivateWebhooks); err != nil {
		return problem.New(http.StatusUnprocessableEntity, "%v", err)
	}
	h, err := a.Hooks.Create(r.Context(), in.ClientID, in.URL, in.Events)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, h)
}

// ownWebhook is the subscription in the path, if the principal may manage
// its client.
func (a *API) ownWebhook(r *http.Request, p auth.Principal) (webhook.Webhook, error) {
	id, err := pathID(r, "webhook")
	if err != nil {
		return webhook.Webhook{}, err
	}
	h, _, err := a.Hooks.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.CanReadClient(h.ClientID)) {
		return webhook.Webhook{}, errNotVisible("webhook")
	}
	if err != nil {
		return webhook.Webhook{}, err
	}
	if !p.CanManageClient(h.ClientID) {
		return webhook.Webhook{}, errForbidden
	}
	return h, nil
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	client := r.URL.Query().Get("client_id")
	if client == "" {
		client = p.OrgID
	}
	if !p.CanReadClient(client) || !p.CanManageClient(client) {
		return errNotVisible("client")
	}
	hs, err := a.Hooks.List(r.Context(), client)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listPage[webhook.Webhook]{Items: hs})
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	h, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	if err := a.Hooks.Disable(r.Context(), h.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// webhookDeliveries is a subscription's delivery log, newest first.
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	h, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	ds, err := a.Hooks.Deliveries(r.Context(), h.ID, 100)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listPage[webhook.Delivery]{Items: ds})
}

// testWebhook sends a ping now and replies with how it went.
func (a *API) testWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	h, err := a.ownWebhook(r, p)
	if err != nil {
		return err
	}
	d, err := a.Hooks.Ping(r.Context(), h.ID)
	if err != nil {
		return err
	}
	sender := &webhook.Sender{Queue: a.Hooks, Client: a.webhookClient(), Log: a.Log}
	d, err = sender.Deliver(r.Context(), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}
