package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"banyan/internal/store"
	"banyan/internal/work"
)

// API tokens: random secrets shown once, kept as their SHA-256, each bound
// to one user's organisation and role.

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

const secretPrefix = "bny_"

// Hash returns the stored form of a token secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Issue makes a new token for the user, bound to the user's org and role,
// and returns its secret, which is not kept anywhere: show it once.
func (s *Service) Issue(ctx context.Context, u User, label string) (string, Token, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, fmt.Errorf("auth: make token: %w", err)
	}
	secret := secretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	t := Token{ID: work.NewID(), UserID: u.ID, OrgID: u.OrgID, Role: u.Role, Label: label, CreatedAt: s.Store.Now()}
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, user_id, org_id, role, hash, label, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.UserID, t.OrgID, t.Role, Hash(secret), t.Label, store.TimeText(t.CreatedAt))
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("auth: create token: %w", err)
	}
	return secret, t, nil
}

// Authenticate returns the principal behind a bearer token secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) > 200 {
		return Principal{}, ErrUnauthenticated
	}
	t, u, err := s.tokenByHash(ctx, Hash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Name: u.Name, OrgID: t.OrgID, Role: Role(t.Role), TokenID: t.ID}, nil
}

// tokenByHash finds a live (unrevoked) token by the hash of its secret.
//
// A token found is remembered for tokenTTL, as every request looks its
// token up: a revocation through this Service is seen at once, one through
// another hub on the same database within tokenTTL.
func (s *Service) tokenByHash(ctx context.Context, hash string) (Token, User, error) {
	if v, ok := s.tokens.Load(hash); ok {
		if c := v.(cachedToken); time.Now().Before(c.until) {
			return c.t, c.u, nil
		}
		s.tokens.Delete(hash)
	}
	t, u, err := s.lookUpToken(ctx, hash)
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

func (s *Service) lookUpToken(ctx context.Context, hash string) (Token, User, error) {
	var t Token
	var created string
	var revoked sql.NullString
	var u User
	var ucreated string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT t.id, t.user_id, t.org_id, t.role, t.label, t.created_at, t.revoked_at,
			u.id, u.org_id, u.name, u.role, u.created_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash).
		Scan(&t.ID, &t.UserID, &t.OrgID, &t.Role, &t.Label, &created, &revoked,
			&u.ID, &u.OrgID, &u.Name, &u.Role, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, User{}, fmt.Errorf("auth: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return Token{}, User{}, fmt.Errorf("auth: token: %w", err)
	}
	if revoked.Valid {
		return Token{}, User{}, fmt.Errorf("auth: token %s was revoked: %w", t.ID, store.ErrNotFound)
	}
	t.CreatedAt = store.ParseTimeText(created)
	u.CreatedAt = store.ParseTimeText(ucreated)
	return t, u, nil
}

// Token returns one token's record.
func (s *Service) Token(ctx context.Context, id string) (Token, error) {
	var t Token
	var created string
	var revoked sql.NullString
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT id, user_id, org_id, role, label, created_at, revoked_at FROM tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.UserID, &t.OrgID, &t.Role, &t.Label, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("auth: token %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("auth: token %s: %w", id, err)
	}
	t.CreatedAt = store.ParseTimeText(created)
	if revoked.Valid {
		at := store.ParseTimeText(revoked.String)
		t.RevokedAt = &at
	}
	return t, nil
}

// RevokeToken marks a token revoked; it stops working at once. Revoking a
// revoked token changes nothing; an unknown one is store.ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	var n int64
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
			store.TimeText(s.Store.Now()), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: revoke token %s: %w", id, err)
	}
	s.tokens.Range(func(k, v any) bool {
		if v.(cachedToken).t.ID == id {
			s.tokens.Delete(k)
		}
		return true
	})
	if n == 0 {
		if _, err := s.Token(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// RevokeCenterTokens revokes every token of a center's machine users (a
// stolen center PC stops syncing) and returns how many it revoked.
func (s *Service) RevokeCenterTokens(ctx context.Context, centerID string) (int64, error) {
	var n int64
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL
			AND user_id IN (SELECT id FROM users WHERE org_id = ? AND role = 'center_node')`, store.TimeText(s.Store.Now()), centerID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("auth: revoke center tokens: %w", err)
	}
	// Drop every cached lookup: the revoked ones must stop at once.
	s.tokens.Range(func(k, _ any) bool {
		s.tokens.Delete(k)
		return true
	})
	return n, nil
}
