// Package auth owns who someone is and what they may do: organisations
// and their users (the people a village center enrols among them), API
// tokens, the secrets people sign in to the web pages with (argon2id) and
// their web sessions, roles, the authorization policy every surface asks
// before it shows or changes data, and sign-in limits. Their SQL lives
// here, run on the store's transactions.
//
// Tokens are random secrets shown once; only their SHA-256 is stored. A
// token is bound to one organisation and one role, so a client's token can
// only ever see that client's data.
package auth

import (
	"fmt"
	"strings"
	"sync"

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
	OrgHub:    {HubAdmin, Ops, Reviewer},
	OrgClient: {ClientAdmin, ClientViewer},
	OrgCenter: {CenterManager, Reviewer, Worker, CenterNode},
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
		return orgKind != OrgHub
	case orgKind == OrgClient:
		return p.CanManageClient(orgID)
	case orgKind == OrgCenter:
		return p.Role == CenterManager && p.OrgID == orgID
	}
	return false
}

// Service keeps organisations, users, tokens, secrets and web sessions,
// and authenticates requests. A composition root (the hub, a center) makes
// one and shares it with every surface: it remembers recent token lookups,
// and a token revoked through it must drop from that one memory at once.
// It is safe for concurrent use; do not copy it after first use.
type Service struct {
	Store *store.Store

	// tokens holds recent token lookups (see tokenByHash).
	tokens sync.Map
	// hashing bounds the secrets hashed at once (see bounded).
	hashingOnce sync.Once
	hashing     chan struct{}
}
