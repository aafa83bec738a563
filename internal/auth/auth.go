// Package auth owns who may do what: roles, API tokens, and the
// authorization policy every surface asks before it shows or changes data.
//
// Tokens are random secrets shown once; only their SHA-256 is stored. A
// token is bound to one organisation and one role, so a client's token can
// only ever see that client's data.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"banyan/internal/problem"
	"banyan/internal/store"
)

// Role is what a person (or machine) does.
type Role string

// The roles.
const (
	HubAdmin      Role = "hub_admin"
	Ops           Role = "ops"
	ClientAdmin   Role = "client_admin"
	ClientViewer  Role = "client_viewer"
	CenterManager Role = "center_manager"
	Reviewer      Role = "reviewer"
	Worker        Role = "worker"
	CenterNode    Role = "center_node"
)

// orgRoles says which roles a user of each kind of organisation may have.
var orgRoles = map[string][]Role{
	store.OrgHub:    {HubAdmin, Ops, Reviewer},
	store.OrgClient: {ClientAdmin, ClientViewer},
	store.OrgCenter: {CenterManager, Reviewer, Worker, CenterNode},
}

// RoleFor checks that role is one a user of an organisation of orgKind may
// have, and returns it.
func RoleFor(orgKind, role string) (Role, error) {
	allowed := orgRoles[orgKind]
	names := make([]string, len(allowed))
	for i, r := range allowed {
		if string(r) == role {
			return r, nil
		}
		names[i] = string(r)
	}
	return "", fmt.Errorf("role %q is not allowed for a %s user (allowed: %s)", role, orgKind, strings.Join(names, ", "))
}

// ErrUnauthenticated means no valid credentials came with the request.
var ErrUnauthenticated = problem.NewSentinel(problem.Unauthenticated, "send a valid API token as 'Authorization: Bearer <token>'")

// Principal is who is making a request.
type Principal struct {
	UserID  string
	Name    string
	OrgID   string
	Role    Role
	TokenID string
}

// IsHubStaff reports whether the principal runs the hub.
func (p Principal) IsHubStaff() bool { return p.Role == HubAdmin || p.Role == Ops }

// CanReadClient reports whether the principal may see the client's data.
func (p Principal) CanReadClient(clientID string) bool {
	return p.IsHubStaff() || ((p.Role == ClientAdmin || p.Role == ClientViewer) && p.OrgID == clientID)
}

// CanManageClient reports whether the principal may change the client's
// projects, batches, users and tokens.
func (p Principal) CanManageClient(clientID string) bool {
	return p.IsHubStaff() || (p.Role == ClientAdmin && p.OrgID == clientID)
}

// CanReview reports whether the principal may settle tasks by review.
func (p Principal) CanReview() bool { return p.IsHubStaff() || p.Role == Reviewer }

// CanManageOrg reports whether the principal may add users to, and issue
// tokens for, the organisation orgID of kind orgKind.
func (p Principal) CanManageOrg(orgID, orgKind string) bool {
	switch {
	case p.Role == HubAdmin:
		return true
	case p.Role == Ops:
		return orgKind != store.OrgHub
	case orgKind == store.OrgClient:
		return p.CanManageClient(orgID)
	case orgKind == store.OrgCenter:
		return p.Role == CenterManager && p.OrgID == orgID
	}
	return false
}

// Service authenticates requests and issues tokens.
type Service struct {
	Store *store.Store
}

const secretPrefix = "bny_"

// Hash returns the stored form of a token secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Issue makes a new token for the user and returns its secret, which is
// not kept anywhere: show it once.
func (s *Service) Issue(ctx context.Context, u store.User, label string) (string, store.Token, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", store.Token{}, fmt.Errorf("auth: make token: %w", err)
	}
	secret := secretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	t, err := s.Store.CreateToken(ctx, u, Hash(secret), label)
	if err != nil {
		return "", store.Token{}, err
	}
	return secret, t, nil
}

// Authenticate returns the principal behind a bearer token secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) > 200 {
		return Principal{}, ErrUnauthenticated
	}
	t, u, err := s.Store.TokenByHash(ctx, Hash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: %w", err)
	}
	return Principal{UserID: u.ID, Name: u.Name, OrgID: t.OrgID, Role: Role(t.Role), TokenID: t.ID}, nil
}
