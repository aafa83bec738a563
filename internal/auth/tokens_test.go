package auth_test

import (
	"context"
	"errors"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// A token stands for its user's organisation and role until it is
// revoked, and stops at once when it is, though its last lookup is
// remembered.
func TestTokens(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	acme, err := a.CreateOrg(ctx, auth.OrgClient, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, a, acme.ID, "Meera", "client_admin")
	secret, tok, err := a.Issue(ctx, u, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{UserID: u.ID, Name: "Meera", OrgID: acme.ID, Role: auth.ClientAdmin, TokenID: tok.ID}
	if p, err := a.Authenticate(ctx, secret); err != nil || p != want {
		t.Fatalf("Authenticate: got %+v, %v; want %+v", p, err, want)
	}
	for _, bad := range []string{"", "bny_nonsense", secret + "x", "Bearer " + secret} {
		if _, err := a.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q): %v, want unauthenticated", bad, err)
		}
	}
	if err := a.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a revoked token: %v, want unauthenticated at once", err)
	}
	if got, err := a.Token(ctx, tok.ID); err != nil || got.RevokedAt == nil || got.Label != "laptop" {
		t.Errorf("the revoked token's record: %+v, %v", got, err)
	}
	if err := a.RevokeToken(ctx, tok.ID); err != nil {
		t.Errorf("revoking it again: %v, want nothing changed", err)
	}
	if err := a.RevokeToken(ctx, "no-such-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking an unknown token: %v", err)
	}
}

// Revoking a center's tokens stops its machine user's and no one else's.
func TestRevokeCenterTokens(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	c, err := a.CreateOrg(ctx, auth.OrgCenter, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	node, _, _ := a.Issue(ctx, newUser(t, a, c.ID, "center node", "center_node"), "center sync")
	worker, _, _ := a.Issue(ctx, newUser(t, a, c.ID, "Asha", "worker"), "center desk")
	for _, s := range []string{node, worker} {
		if _, err := a.Authenticate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.RevokeCenterTokens(ctx, c.ID); err != nil || n != 1 {
		t.Fatalf("RevokeCenterTokens: %d, %v; want 1", n, err)
	}
	if _, err := a.Authenticate(ctx, node); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("the center's sync token: %v, want unauthenticated at once", err)
	}
	if _, err := a.Authenticate(ctx, worker); err != nil {
		t.Errorf("the worker's token: %v, want it to still work", err)
	}
}
