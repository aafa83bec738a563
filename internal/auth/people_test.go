package auth_test

import (
	"context"
	"errors"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// An organisation's name is unique among its kind, a user's within their
// organisation; both read back as made, and list by id.
func TestOrgsAndUsers(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	acme, err := a.CreateOrg(ctx, auth.OrgClient, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateOrg(ctx, auth.OrgClient, "Acme"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second client named Acme: %v, want a conflict", err)
	}
	if _, err := a.CreateOrg(ctx, auth.OrgCenter, "Acme"); err != nil {
		t.Errorf("a center named as a client: %v", err)
	}
	if got, err := a.Org(ctx, acme.ID); err != nil || got != acme {
		t.Errorf("Org: got %+v, %v; want %+v", got, err, acme)
	}
	if _, err := a.Org(ctx, "no-such-org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown org: %v", err)
	}
	if clients, err := a.Orgs(ctx, auth.OrgClient, store.Page{Limit: 10}); err != nil || len(clients) != 1 || clients[0] != acme {
		t.Errorf("Orgs: got %+v, %v; want just Acme", clients, err)
	}

	admin := newUser(t, a, acme.ID, "Meera", "client_admin")
	if _, err := a.CreateUser(ctx, acme.ID, "Meera", "client_viewer"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second Meera at Acme: %v, want a conflict", err)
	}
	viewer := newUser(t, a, acme.ID, "Arjun", "client_viewer")
	if got, err := a.User(ctx, admin.ID); err != nil || got != admin {
		t.Errorf("User: got %+v, %v; want %+v", got, err, admin)
	}
	if _, err := a.User(ctx, "no-such-user"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
	users, err := a.Users(ctx, acme.ID, store.Page{Limit: 10})
	if err != nil || len(users) != 2 || users[0].ID > users[1].ID {
		t.Errorf("Users: got %+v, %v; want both, by id", users, err)
	}
	if page, _ := a.Users(ctx, acme.ID, store.Page{After: min(admin.ID, viewer.ID), Limit: 10}); len(page) != 1 || page[0].ID != max(admin.ID, viewer.ID) {
		t.Errorf("Users after the first: got %+v", page)
	}
	if n, err := a.CountUsers(ctx, acme.ID, "client_admin"); err != nil || n != 1 {
		t.Errorf("CountUsers: got %d, %v; want 1", n, err)
	}
}

// A center's own organisation, recorded in its database, keeps the hub's
// id; recording it again changes nothing.
func TestEnsureCenterOrg(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	const id = "01900000-0000-7000-8000-00000000c0de"
	for range 2 {
		if err := a.EnsureCenterOrg(ctx, id, "Melur"); err != nil {
			t.Fatal(err)
		}
	}
	if o, err := a.Org(ctx, id); err != nil || o.Kind != auth.OrgCenter || o.Name != "Melur" {
		t.Fatalf("the center's org: %+v, %v", o, err)
	}
}
