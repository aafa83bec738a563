package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"banyan/internal/work"
)

func TestSecretsSessionsAndDrafts(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	org, _ := s.CreateOrg(ctx, OrgCenter, "village")
	asha, _ := s.CreateUser(ctx, org.ID, "Asha", "worker")
	ravi, _ := s.CreateUser(ctx, org.ID, "Ravi", "worker")
	if err := s.SetSecret(ctx, asha.ID, "asha", "123456"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSecret(ctx, ravi.ID, "asha", "654321"); !errors.Is(err, ErrConflict) {
		t.Errorf("a second person with the same login: %v", err)
	}
	if err := s.SetSecret(ctx, "no-such-user", "x1", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a secret for nobody: %v", err)
	}
	if _, _, err := s.CheckSecret(ctx, "asha", "000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong PIN: %v", err)
	}
	if _, _, err := s.CheckSecret(ctx, "nobody", "123456"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
	u, lang, err := s.CheckSecret(ctx, "asha", "123456")
	if err != nil || u.ID != asha.ID || lang != "" {
		t.Fatalf("right PIN: %+v %q %v", u, lang, err)
	}
	if err := s.SetLang(ctx, asha.ID, "ta"); err != nil {
		t.Fatal(err)
	}
	secret, err := s.CreateSession(ctx, asha.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := s.Session(ctx, secret)
	if err != nil || ws.User.ID != asha.ID || ws.Lang != "ta" || ws.CSRF == "" {
		t.Fatalf("session: %+v %v", ws, err)
	}
	if _, err := s.Session(ctx, secret+"x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a made-up session: %v", err)
	}
	clk.add(2 * time.Hour)
	if _, err := s.Session(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("an ended session: %v", err)
	}
	// A new PIN ends every session.
	secret, _ = s.CreateSession(ctx, asha.ID, time.Hour)
	if err := s.SetSecret(ctx, asha.ID, "asha", "777777"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session after the PIN changed: %v", err)
	}
	if login, _ := s.Login(ctx, asha.ID); login != "asha" {
		t.Errorf("login %q", login)
	}
	if err := s.SaveDraft(ctx, asha.ID, "a1", `{"label":"ok"}`); err != nil {
		t.Fatal(err)
	}
	// Another worker cannot overwrite or read it.
	s.SaveDraft(ctx, ravi.ID, "a1", `{"label":"spam"}`)
	if d, _ := s.Draft(ctx, asha.ID, "a1"); d != `{"label":"ok"}` {
		t.Errorf("draft %q", d)
	}
	if d, _ := s.Draft(ctx, ravi.ID, "a1"); d != "" {
		t.Errorf("another worker reads the draft: %q", d)
	}
	s.DropDraft(ctx, asha.ID, "a1")
	if d, _ := s.Draft(ctx, asha.ID, "a1"); d != "" {
		t.Errorf("dropped draft: %q", d)
	}
}

// A passed task goes back to the pool for others, never to the same worker.
func TestPassAssignment(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p := fixture(t, s, 1, 1)
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(2)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	w1, w2 := ws[0], ws[1]
	a, first, err := s.Claim(ctx, w1.ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PassAssignment(ctx, w2.ID, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another worker passing it: %v", err)
	}
	if err := s.PassAssignment(ctx, w1.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.PassAssignment(ctx, w1.ID, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("passing it twice: %v", err)
	}
	_, second, err := s.Claim(ctx, w1.ID, "", 1)
	if err != nil || second.ID == first.ID {
		t.Fatalf("after passing, the worker got %s again (%v)", second.ID, err)
	}
	_, other, err := s.Claim(ctx, w2.ID, "", 1)
	if err != nil || other.ID != first.ID {
		t.Fatalf("another worker got %s, want the passed task %s (%v)", other.ID, first.ID, err)
	}
}

// Secrets are stored as argon2id with the stated parameters; a secret
// stored by an earlier version as PBKDF2 still signs in and is stored
// again as argon2id then (and not on a wrong try).
func TestSecretsAreArgon2id(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	ws := workers(t, s, 2)
	if err := s.SetSecret(ctx, ws[0].ID, "asha", "123456"); err != nil {
		t.Fatal(err)
	}
	stored := func(login string) string {
		var h string
		s.r.QueryRow(`SELECT secret_hash FROM credentials WHERE login = ?`, login).Scan(&h)
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
	if _, err := s.w.Exec(`INSERT INTO credentials (user_id, login, secret_hash, updated_at) VALUES (?, 'ravi', ?, ?)`,
		ws[1].ID, legacy, ts(s.now())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CheckSecret(ctx, "ravi", "000000"); !errors.Is(err, ErrNotFound) || stored("ravi") != legacy {
		t.Fatalf("a wrong PIN: %v, stored %q; want refused and nothing changed", err, stored("ravi"))
	}
	if u, _, err := s.CheckSecret(ctx, "ravi", "654321"); err != nil || u.ID != ws[1].ID {
		t.Fatalf("the old PIN: %+v %v; want signed in", u, err)
	}
	if h := stored("ravi"); !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("after signing in, stored %q; want it stored again as argon2id", h)
	}
	if _, _, err := s.CheckSecret(ctx, "ravi", "654321"); err != nil {
		t.Fatalf("the PIN against its new hash: %v", err)
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$xx$yy", "$argon2id$v=18$m=19456,t=2,p=1$AAAA$AAAA", "plain"} {
		if ok, _ := secretMatches(bad, ""); ok {
			t.Fatalf("%q matched", bad)
		}
	}
}

// BenchmarkSecretMatches is one sign-in's check of a PIN: argon2id now,
// and the PBKDF2 it replaces, for comparison.
func BenchmarkSecretMatches(b *testing.B) {
	argon, _ := encodeSecret("123456")
	salt := []byte("0123456789abcdef")
	old, _ := pbkdf2.Key(sha256.New, "123456", salt, 120_000, 32)
	legacy := "pbkdf2-sha256$120000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(old)
	for _, c := range []struct{ name, stored string }{{"argon2id", argon}, {"pbkdf2", legacy}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := secretMatches(c.stored, "123456"); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
