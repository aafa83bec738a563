package auth_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
)

// newService opens a store for the test on its clock and returns the
// Service over it.
func newService(t *testing.T) (*auth.Service, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	return &auth.Service{Store: storetest.Open(t, store.Options{Now: clk.now})}, clk
}

// newUser adds a person, failing the test if it cannot.
func newUser(t *testing.T, a *auth.Service, orgID, name, role string) auth.User {
	t.Helper()
	u, err := a.CreateUser(context.Background(), orgID, name, role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSecretsAndSessions(t *testing.T) {
	t.Parallel()
	a, clk := newService(t)
	ctx := context.Background()
	org, err := a.CreateOrg(ctx, auth.OrgCenter, "village")
	if err != nil {
		t.Fatal(err)
	}
	asha := newUser(t, a, org.ID, "Asha", "worker")
	ravi := newUser(t, a, org.ID, "Ravi", "worker")
	if err := a.SetSecret(ctx, asha.ID, "asha", "123456"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetSecret(ctx, ravi.ID, "asha", "654321"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second person with the same login: %v", err)
	}
	if err := a.SetSecret(ctx, "no-such-user", "x1", "1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a secret for nobody: %v", err)
	}
	if _, _, err := a.CheckSecret(ctx, "asha", "000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wrong PIN: %v", err)
	}
	if _, _, err := a.CheckSecret(ctx, "nobody", "123456"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
	u, lang, err := a.CheckSecret(ctx, "asha", "123456")
	if err != nil || u.ID != asha.ID || lang != "" {
		t.Fatalf("right PIN: %+v %q %v", u, lang, err)
	}
	if err := a.SetLang(ctx, asha.ID, "ta"); err != nil {
		t.Fatal(err)
	}
	secret, err := a.CreateSession(ctx, asha.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := a.Session(ctx, secret)
	if err != nil || ws.User.ID != asha.ID || ws.Lang != "ta" || ws.CSRF == "" {
		t.Fatalf("session: %+v %v", ws, err)
	}
	if _, err := a.Session(ctx, secret+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a made-up session: %v", err)
	}
	clk.add(2 * time.Hour)
	if _, err := a.Session(ctx, secret); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an ended session: %v", err)
	}
	// A new PIN ends every session.
	secret, _ = a.CreateSession(ctx, asha.ID, time.Hour)
	if err := a.SetSecret(ctx, asha.ID, "asha", "777777"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, secret); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session after the PIN changed: %v", err)
	}
	if login, _ := a.Login(ctx, asha.ID); login != "asha" {
		t.Errorf("login %q", login)
	}
}

// Secrets are stored as argon2id with the stated parameters; a secret
// stored by an earlier version as PBKDF2 still signs in and is stored
// again as argon2id then (and not on a wrong try).
func TestSecretsAreArgon2id(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	asha := newUser(t, a, auth.BuiltinCenterOrgID, "w000", "worker")
	ravi := newUser(t, a, auth.BuiltinCenterOrgID, "w001", "worker")
	if err := a.SetSecret(ctx, asha.ID, "asha", "123456"); err != nil {
		t.Fatal(err)
	}
	stored := func(login string) string {
		var h string
		a.Store.Read(ctx).QueryRowContext(ctx, `SELECT secret_hash FROM credentials WHERE login = ?`, login).Scan(&h)
		return h
	}
	if h := stored("asha"); !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "123456") {
		t.Fatalf("stored %q; want an argon2id hash with m=19456,t=2,p=1", h)
	}
	// A PIN stored the old way: PBKDF2-SHA256, 120,000 rounds.
	salt := []byte("0123456789abcdef")
	old, err := pbkdf2.Key(sha256.New, "654321", salt, 120_000, 32)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawStdEncoding
	legacy := "pbkdf2-sha256$120000$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(old)
	if err := a.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO credentials (user_id, login, secret_hash, updated_at) VALUES (?, 'ravi', ?, ?)`,
			ravi.ID, legacy, store.TimeText(a.Store.Now()))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CheckSecret(ctx, "ravi", "000000"); !errors.Is(err, store.ErrNotFound) || stored("ravi") != legacy {
		t.Fatalf("a wrong PIN: %v, stored %q; want refused and nothing changed", err, stored("ravi"))
	}
	if u, _, err := a.CheckSecret(ctx, "ravi", "654321"); err != nil || u.ID != ravi.ID {
		t.Fatalf("the old PIN: %+v %v; want signed in", u, err)
	}
	if h := stored("ravi"); !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("after signing in, stored %q; want it stored again as argon2id", h)
	}
	if _, _, err := a.CheckSecret(ctx, "ravi", "654321"); err != nil {
		t.Fatalf("the PIN against its new hash: %v", err)
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$xx$yy", "$argon2id$v=18$m=19456,t=2,p=1$AAAA$AAAA", "plain"} {
		if ok, _ := auth.SecretMatches(bad, ""); ok {
			t.Fatalf("%q matched", bad)
		}
	}
}

// BenchmarkSecretMatches is one sign-in's check of a PIN: argon2id now,
// and the PBKDF2 it replaces, for comparison.
func BenchmarkSecretMatches(b *testing.B) {
	argon, _ := auth.EncodeSecret("123456")
	salt := []byte("0123456789abcdef")
	old, _ := pbkdf2.Key(sha256.New, "123456", salt, 120_000, 32)
	legacy := "pbkdf2-sha256$120000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(old)
	for _, c := range []struct{ name, stored string }{{"argon2id", argon}, {"pbkdf2", legacy}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := auth.SecretMatches(c.stored, "123456"); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
