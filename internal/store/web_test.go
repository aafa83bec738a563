package store

import (
	"context"
	"errors"
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
