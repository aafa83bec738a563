package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// Well-known organisations, made by the first migration.
const (
	HubOrgID           = "00000000-0000-7000-8000-000000000001"
	BuiltinCenterOrgID = "00000000-0000-7000-8000-000000000002"
)

// Org kinds.
const (
	OrgHub    = "hub"
	OrgClient = "client"
	OrgCenter = "center"
)

// Org is the hub, a client company or a center.
type Org struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person (or a center machine) who signs in with a token.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token's record. The secret itself is never stored: only
// its SHA-256.
type Token struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	OrgID     string     `json:"org_id"`
	Role      string     `json:"role"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// CreateOrg adds an organisation. A name already used by an org of the same
// kind is ErrConflict.
func (s *Store) CreateOrg(ctx context.Context, kind, name string) (Org, error) {
	o := Org{ID: work.NewID(), Kind: kind, Name: name, CreatedAt: s.now()}
	_, err := s.w.ExecContext(ctx, `INSERT INTO orgs (id, kind, name, created_at) VALUES (?, ?, ?, ?)`,
		o.ID, o.Kind, o.Name, ts(o.CreatedAt))
	if s.d.isUniqueViolation(err) {
		return Org{}, problem.Public(ErrConflict, "a %s named %q already exists", kind, name)
	}
	if err != nil {
		return Org{}, fmt.Errorf("store: create org: %w", err)
	}
	return o, nil
}

// Org returns one organisation.
func (s *Store) Org(ctx context.Context, id string) (Org, error) {
	var o Org
	var created string
	err := s.r.QueryRowContext(ctx, `SELECT id, kind, name, created_at FROM orgs WHERE id = ?`, id).
		Scan(&o.ID, &o.Kind, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, fmt.Errorf("store: org %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Org{}, fmt.Errorf("store: org %s: %w", id, err)
	}
	o.CreatedAt = parseTS(created)
	return o, nil
}

// Orgs lists organisations of one kind, by id.
func (s *Store) Orgs(ctx context.Context, kind string, p Page) ([]Org, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, name, created_at FROM orgs
		WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`, kind, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list orgs: %w", err)
	}
	return collect(rows, func(r scanner) (Org, error) {
		var o Org
		var created string
		err := r.Scan(&o.ID, &o.Kind, &o.Name, &created)
		o.CreatedAt = parseTS(created)
		return o, err
	})
}

// CreateUser adds a person to an organisation.
func (s *Store) CreateUser(ctx context.Context, orgID, name, role string) (User, error) {
	u := User{ID: work.NewID(), OrgID: orgID, Name: name, Role: role, CreatedAt: s.now()}
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Name, u.Role, ts(u.CreatedAt))
	if s.d.isUniqueViolation(err) {
		return User{}, problem.Public(ErrConflict, "a user named %q already exists in this organisation", name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

const userCols = `id, org_id, name, role, created_at`

func scanUser(r scanner) (User, error) {
	var u User
	var created string
	err := r.Scan(&u.ID, &u.OrgID, &u.Name, &u.Role, &created)
	u.CreatedAt = parseTS(created)
	return u, err
}

// User returns one user.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", id, err)
	}
	return u, nil
}

// Users lists the users of one organisation, by id.
func (s *Store) Users(ctx context.Context, orgID string, p Page) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users
		WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return collect(rows, scanUser)
}

// CountUsers counts the users with a role in an organisation.
func (s *Store) CountUsers(ctx context.Context, orgID, role string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = ? AND role = ?`, orgID, role).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// CreateToken stores a new token for a user, bound to the user's org and
// role. hash is the SHA-256 of the secret, made by the caller.
func (s *Store) CreateToken(ctx context.Context, u User, hash, label string) (Token, error) {
	t := Token{ID: work.NewID(), UserID: u.ID, OrgID: u.OrgID, Role: u.Role, Label: label, CreatedAt: s.now()}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens (id, user_id, org_id, role, hash, label, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.UserID, t.OrgID, t.Role, hash, t.Label, ts(t.CreatedAt))
	if err != nil {
		return Token{}, fmt.Errorf("store: create token: %w", err)
	}
	return t, nil
}

// TokenByHash finds a live (unrevoked) token by the hash of its secret.
//
// A token found is remembered for tokenTTL, as every request looks its
// token up: a revocation through this store is seen at once, one through
// another hub on the same database within tokenTTL.
func (s *Store) TokenByHash(ctx context.Context, hash string) (Token, User, error) {
	if v, ok := s.tokens.Load(hash); ok {
		if c := v.(cachedToken); time.Now().Before(c.until) {
			return c.t, c.u, nil
		}
		s.tokens.Delete(hash)
	}
	t, u, err := s.tokenByHash(ctx, hash)
	if err == nil {
		s.tokens.Store(hash, cachedToken{t: t, u: u, until: time.Now().Add(tokenTTL)})
	}
	return t, u, err
}

const tokenTTL = 2 * time.Second

type cachedToken struct {
	t     Token
	u     User
	until time.Time
}

func (s *Store) tokenByHash(ctx context.Context, hash string) (Token, User, error) {
	var t Token
	var created string
	var revoked sql.NullString
	var u User
	var ucreated string
	err := s.r.QueryRowContext(ctx, `SELECT t.id, t.user_id, t.org_id, t.role, t.label, t.created_at, t.revoked_at,
			u.id, u.org_id, u.name, u.role, u.created_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash).
		Scan(&t.ID, &t.UserID, &t.OrgID, &t.Role, &t.Label, &created, &revoked,
			&u.ID, &u.OrgID, &u.Name, &u.Role, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, User{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, User{}, fmt.Errorf("store: token: %w", err)
	}
	if revoked.Valid {
		return Token{}, User{}, fmt.Errorf("store: token %s was revoked: %w", t.ID, ErrNotFound)
	}
	t.CreatedAt = parseTS(created)
	u.CreatedAt = parseTS(ucreated)
	return t, u, nil
}

// Token returns one token's record.
func (s *Store) Token(ctx context.Context, id string) (Token, error) {
	var t Token
	var created string
	var revoked sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT id, user_id, org_id, role, label, created_at, revoked_at FROM tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.UserID, &t.OrgID, &t.Role, &t.Label, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: token %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token %s: %w", id, err)
	}
	t.CreatedAt = parseTS(created)
	t.RevokedAt = parseNullTS(revoked)
	return t, nil
}

// RevokeToken marks a token revoked; it stops working at once. Revoking a
// revoked token changes nothing.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(s.now()), id)
	if err != nil {
		return fmt.Errorf("store: revoke token %s: %w", id, err)
	}
	s.tokens.Range(func(k, v any) bool {
		if v.(cachedToken).t.ID == id {
			s.tokens.Delete(k)
		}
		return true
	})
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Token(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// RevokeCenterTokens revokes every token of a center's machine users (a
// stolen center PC stops syncing) and returns how many it revoked.
func (s *Store) RevokeCenterTokens(ctx context.Context, centerID string) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL
		AND user_id IN (SELECT id FROM users WHERE org_id = ? AND role = 'center_node')`, ts(s.now()), centerID)
	if err != nil {
		return 0, fmt.Errorf("store: revoke center tokens: %w", err)
	}
	// Drop every cached lookup: the revoked ones must stop at once.
	s.tokens.Range(func(k, _ any) bool {
		s.tokens.Delete(k)
		return true
	})
	return res.RowsAffected()
}
