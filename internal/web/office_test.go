package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// fakeOffice enrols workers straight in the store, each with PIN 246810.
type fakeOffice struct {
	people *auth.Service
	org    string
}

func (o fakeOffice) Status(ctx context.Context) (OfficeStatus, error) {
	return OfficeStatus{LastSync: time.Date(2026, 11, 23, 8, 30, 0, 0, time.Local), Online: true}, nil
}

// People lists the office's organisation's people with their logins.
func (o fakeOffice) People(ctx context.Context, since time.Time) ([]Person, error) {
	users, err := o.people.Users(ctx, o.org, store.Page{Limit: 100})
	if err != nil {
		return nil, err
	}
	var people []Person
	for _, u := range users {
		login, err := o.people.Login(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		people = append(people, Person{ID: u.ID, Name: u.Name, Role: u.Role, Login: login})
	}
	return people, nil
}

func (o fakeOffice) Enrol(ctx context.Context, name, login string) (auth.User, string, string, error) {
	if owner, _ := o.people.LoginOwner(ctx, login); owner != "" {
		return auth.User{}, "", "", store.ErrConflict
	}
	u, err := o.people.CreateUser(ctx, o.org, name, "worker")
	if err != nil {
		return auth.User{}, "", "", err
	}
	return u, login, "246810", o.people.SetSecret(ctx, u.ID, login, "246810")
}

func (o fakeOffice) ResetPIN(ctx context.Context, id string) (string, string, error) {
	login, _ := o.people.Login(ctx, id)
	return login, "135790", o.people.SetSecret(ctx, id, login, "135790")
}

func TestCenterOffice(t *testing.T) {
	g := newRig(t, classifyTask(ida))
	u, _ := g.people.User(context.Background(), mustOwner(t, g.people, "asha"))
	mux := http.NewServeMux()
	(&Web{Store: g.st, Auth: g.people, Desk: g.desk, Office: fakeOffice{g.people, u.OrgID}, Place: "center",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	g.srv.Close()
	g.srv = httptest.NewServer(mux)
	defer g.srv.Close()

	resp, page := g.signIn("manju", "secret-pass")
	if resp.Request.URL.Path != "/center/" || !strings.Contains(page, "Connected") || !strings.Contains(page, "Asha") {
		t.Fatalf("a manager's first page %s:\n%s", resp.Request.URL.Path, page)
	}
	if resp, _ := g.get("/desk/task"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a manager on the worker desk: %d", resp.StatusCode)
	}
	resp, page = g.post("/center/workers", url.Values{"csrf": {csrfOf(t, page)}, "name": {"Meena K"}, "login": {"meena"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "246810") || !strings.Contains(page, "meena") {
		t.Fatalf("enrol: %d\n%s", resp.StatusCode, page)
	}
	_, page = g.get("/center/")
	resp, page = g.post("/center/workers", url.Values{"csrf": {csrfOf(t, page)}, "name": {"Meena S"}, "login": {"meena"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "is taken") {
		t.Fatalf("a taken login: %d", resp.StatusCode)
	}
	// Reset Asha's PIN: the new one works, the old one does not.
	action := regexp.MustCompile(`action="(/center/workers/[^"]+/pin)"`).FindAllStringSubmatch(page, -1)
	if len(action) == 0 {
		t.Fatalf("no reset button:\n%s", page)
	}
	var ashaReset string
	for _, a := range action {
		if strings.Contains(a[1], u.ID) {
			ashaReset = a[1]
		}
	}
	resp, page = g.post(ashaReset, url.Values{"csrf": {csrfOf(t, page)}})
	if !strings.Contains(page, "135790") {
		t.Fatalf("reset: %d\n%s", resp.StatusCode, page)
	}
	g.post("/desk/signout", url.Values{"csrf": {csrfOf(t, page)}})
	jar, _ := cookiejar.New(nil)
	g.client.Jar = jar
	if resp, _ := g.signIn("asha", "123456"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old PIN still works: %d", resp.StatusCode)
	}
	resp, page = g.signIn("asha", "135790")
	if resp.Request.URL.Path != "/desk/" {
		t.Fatalf("the new PIN: %s", resp.Request.URL.Path)
	}
	if resp, _ := g.get("/center/"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a worker on the office page: %d", resp.StatusCode)
	}
	if resp, _ := g.post("/center/workers", url.Values{"csrf": {csrfOf(t, page)}, "name": {"X"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a worker enrolling: %d", resp.StatusCode)
	}
}

func mustOwner(t *testing.T, people *auth.Service, login string) string {
	t.Helper()
	id, err := people.LoginOwner(context.Background(), login)
	if err != nil || id == "" {
		t.Fatalf("login %s: %q %v", login, id, err)
	}
	return id
}
