package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"banyan/internal/problem"
	"banyan/internal/store"
)

// Signing in to the web pages: credentials and sessions
// (migration 0012).

// Secrets (a worker's PIN, anyone else's password) are stored as
// argon2id hashes, the memory-hard function of RFC 9106, with parameters a
// cheap village-center PC can afford at every sign-in: 19 MiB, 2 passes,
// 1 lane (OWASP's first recommended setting), a 16-byte salt and a 32-byte
// hash, kept in the PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
// A PIN is short, so no hash alone holds out against someone with the
// database; the sign-in rate limit protects it on the wire, and the hash
// makes each guess offline cost 19 MiB and tens of milliseconds.
//
// Secrets stored by earlier versions as PBKDF2-SHA256 still sign in, and
// are stored again as argon2id at that sign-in (CheckSecret).
const (
	argonMemoryKiB = 19 * 1024
	argonPasses    = 2
	argonLanes     = 1
	argonKeyLen    = 32
)

// bounded runs fn, which computes a secret's hash, while fewer than
// max(2, NumCPU) others run through s: a shift's workers signing in
// together must not ask for 19 MiB each at the same moment. The bound is a
// field of the Service rather than package state: the composition root
// makes one Service per process, so one bound holds for the process (a
// second Service would have a bound of its own). It is made on first use,
// so a Service literal needs no constructor.
func (s *Service) bounded(fn func()) {
	s.hashingOnce.Do(func() { s.hashing = make(chan struct{}, max(2, runtime.NumCPU())) })
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	fn()
}

// argon2id hashes a secret with the given parameters.
func argon2id(secret string, salt []byte, memKiB, passes uint32, lanes uint8) []byte {
	return argon2.IDKey([]byte(secret), salt, passes, memKiB, lanes, argonKeyLen)
}

// encodeSecret returns the stored form of a secret.
func encodeSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2id(secret, salt, argonMemoryKiB, argonPasses, argonLanes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonPasses, argonLanes,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// secretMatches checks a secret against its stored form (argon2id, or
// PBKDF2-SHA256 from earlier versions); stale says the form is not the
// one encodeSecret writes now, so the secret should be stored again.
func secretMatches(stored, secret string) (ok, stale bool) {
	b64 := base64.RawStdEncoding
	if rest, found := strings.CutPrefix(stored, "pbkdf2-sha256$"); found {
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return false, true
		}
		iter, err := strconv.Atoi(parts[0])
		salt, err1 := b64.DecodeString(parts[1])
		want, err2 := b64.DecodeString(parts[2])
		if err != nil || err1 != nil || err2 != nil || iter < 1 {
			return false, true
		}
		got, err := pbkdf2.Key(sha256.New, secret, salt, iter, 32)
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1, true
	}
	var version int
	var mem, passes uint32
	var lanes uint8
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, true
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, true
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &passes, &lanes); err != nil || mem < 8 || passes < 1 || lanes < 1 ||
		mem > 1<<22 || passes > 64 {
		return false, true
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != argonKeyLen {
		return false, true
	}
	got := argon2id(secret, salt, mem, passes, lanes)
	stale = mem != argonMemoryKiB || passes != argonPasses || lanes != argonLanes
	return subtle.ConstantTimeCompare(got, want) == 1, stale
}

// dummySecret is checked against when a login is unknown, so a wrong
// login takes as long to refuse as a wrong secret. It is made once, at
// start, when nothing else is hashing.
var dummySecret, _ = encodeSecret("no such login")

// SetSecret gives a person a login and a secret (a worker's PIN, anyone
// else's password), replacing any they had, and ends their web sessions.
// A login another person has is store.ErrConflict.
func (s *Service) SetSecret(ctx context.Context, userID, login, secret string) error {
	var enc string
	var err error
	s.bounded(func() { enc, err = encodeSecret(secret) })
	if err != nil {
		return fmt.Errorf("auth: set secret: %w", err)
	}
	err = s.Store.Write(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		}
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM credentials WHERE login = ?`, login).Scan(&owner)
		if err == nil && owner != userID {
			return problem.Public(store.ErrConflict, "the login %q is taken", login)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO credentials (user_id, login, secret_hash, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, secret_hash = excluded.secret_hash,
				updated_at = excluded.updated_at`, userID, login, enc, store.TimeText(s.Store.Now())); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: set secret: %w", err)
	}
	return nil
}

// Login returns the login a person signs in with, or "" when they have none.
func (s *Service) Login(ctx context.Context, userID string) (string, error) {
	var login string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT login FROM credentials WHERE user_id = ?`, userID).Scan(&login)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("auth: login of %s: %w", userID, err)
	}
	return login, nil
}

// LoginOwner returns the id of the person with a login, "" if nobody.
func (s *Service) LoginOwner(ctx context.Context, login string) (string, error) {
	var id string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT user_id FROM credentials WHERE login = ?`, login).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("auth: login %q: %w", login, err)
	}
	return id, nil
}

// CheckSecret returns the person a login and secret belong to, with the
// language they last chose; a wrong login or secret is store.ErrNotFound,
// the same for both.
func (s *Service) CheckSecret(ctx context.Context, login, secret string) (User, string, error) {
	var userID, stored, lang string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT user_id, secret_hash, lang FROM credentials WHERE login = ?`, login).
		Scan(&userID, &stored, &lang)
	if errors.Is(err, sql.ErrNoRows) {
		s.bounded(func() { secretMatches(dummySecret, secret) })
		return User{}, "", fmt.Errorf("auth: sign in: %w", store.ErrNotFound)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("auth: sign in: %w", err)
	}
	var ok, stale bool
	s.bounded(func() { ok, stale = secretMatches(stored, secret) })
	if !ok {
		return User{}, "", fmt.Errorf("auth: sign in: %w", store.ErrNotFound)
	}
	if stale {
		// Stored by an earlier version (PBKDF2) or with other parameters:
		// the secret is known right now, so it is stored anew. Only if
		// the row still holds what was checked, so a secret changed
		// meanwhile is not overwritten.
		var enc string
		s.bounded(func() { enc, err = encodeSecret(secret) })
		if err != nil {
			return User{}, "", fmt.Errorf("auth: sign in: %w", err)
		}
		if err := s.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE credentials SET secret_hash = ? WHERE user_id = ? AND secret_hash = ?`, enc, userID, stored)
			return err
		}); err != nil {
			return User{}, "", fmt.Errorf("auth: sign in: store the secret anew: %w", err)
		}
	}
	u, err := s.User(ctx, userID)
	return u, lang, err
}

// SetLang keeps the language a person chose.
func (s *Service) SetLang(ctx context.Context, userID, lang string) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE credentials SET lang = ? WHERE user_id = ?`, lang, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: set language: %w", err)
	}
	return nil
}

// WebSession is a signed-in browser.
type WebSession struct {
	User      User
	CSRF      string
	Lang      string
	ExpiresAt time.Time
}

func sessionKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a web session for a person and returns the secret
// for its cookie.
func (s *Service) CreateSession(ctx context.Context, userID string, ttl time.Duration) (secret string, err error) {
	secret = randomText(32)
	now := s.Store.Now()
	err = s.Store.Write(ctx, func(tx *store.Tx) error {
		// Ended sessions go as new ones start, so the table stays small.
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, store.TimeText(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (id, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sessionKey(secret), userID, randomText(24), store.TimeText(now), store.TimeText(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("auth: start session: %w", err)
	}
	return secret, nil
}

// Session returns the live session a cookie's secret names; an unknown or
// ended one is store.ErrNotFound.
func (s *Service) Session(ctx context.Context, secret string) (WebSession, error) {
	var ws WebSession
	var expires, created string
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT ws.csrf, ws.expires_at, coalesce(c.lang, ''),
			u.id, u.org_id, u.name, u.role, u.created_at
		FROM web_sessions ws JOIN users u ON u.id = ws.user_id LEFT JOIN credentials c ON c.user_id = u.id
		WHERE ws.id = ?`, sessionKey(secret)).
		Scan(&ws.CSRF, &expires, &ws.Lang, &ws.User.ID, &ws.User.OrgID, &ws.User.Name, &ws.User.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return WebSession{}, fmt.Errorf("auth: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return WebSession{}, fmt.Errorf("auth: session: %w", err)
	}
	ws.ExpiresAt = store.ParseTimeText(expires)
	ws.User.CreatedAt = store.ParseTimeText(created)
	if !s.Store.Now().Before(ws.ExpiresAt) {
		return WebSession{}, fmt.Errorf("auth: session ended: %w", store.ErrNotFound)
	}
	return ws, nil
}

// EndSession signs a browser out.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE id = ?`, sessionKey(secret))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}
