package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/store"
	"banyan/internal/work"
)

// The center manager's pages, served by a village center: the state of
// its link to the hub and its local queue, its people with their skills
// and training, enrolling a worker and resetting a PIN.

// Office is what the center manager's pages need of the center.
type Office interface {
	// Status is the center's queue and its link to the hub.
	Status(ctx context.Context) (OfficeStatus, error)
	// People lists the center's people by name, with their answers
	// saved since a time, their skills and their training.
	People(ctx context.Context, since time.Time) ([]Person, error)
	// Enrol adds a worker (login "" makes one from the name) and gives
	// them a PIN.
	Enrol(ctx context.Context, name, login string) (user auth.User, gotLogin, pin string, err error)
	// ResetPIN gives a worker of the center a fresh PIN.
	ResetPIN(ctx context.Context, workerID string) (login, pin string, err error)
}

// OfficeStatus is a center's queue and uplink.
type OfficeStatus struct {
	// Pending counts records waiting to go up, Sent those the hub
	// acknowledged.
	Pending, Sent int
	// ActiveGrants counts the leased tasks the center works on,
	// FreeSlots their places free to take, FilesMissing the attachments
	// they wait for.
	ActiveGrants, FreeSlots, FilesMissing int

	LastSync  time.Time
	Online    bool
	LastError string
}

// Person is one of a village center's people as its manager sees them.
type Person struct {
	ID, Name, Role string
	Login          string
	Answers        int // saved today
	// Skills are the hub's word on the worker's skills (active,
	// suspended), as fed down to the center.
	Skills []PersonSkill
	// Courses are the worker's latest attempt at each course.
	Courses []PersonCourse
}

// PersonSkill is a worker's standing at one kind of work in one language.
type PersonSkill struct {
	Kind, Language, Status, Reason string
}

// PersonCourse is a worker's latest attempt at a course.
type PersonCourse struct {
	Name, Purpose, State string
	Answered, Items      int
}

func (wb *Web) manager(s *session) error {
	if wb.Office == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if s.User.Role != "center_manager" {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	return nil
}

type personView struct {
	ID, Name, Role, Login, Answers string
	Worker                         bool
	Wage                           string
	Skills, Courses                []string
}

func (wb *Web) office(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.manager(s); err != nil {
		return err
	}
	return wb.showOffice(w, r, s, http.StatusOK, nil)
}

func (wb *Web) showOffice(w http.ResponseWriter, r *http.Request, s *session, status int, extra map[string]any) error {
	st, err := wb.Office.Status(r.Context())
	if err != nil {
		return err
	}
	people, err := wb.Office.People(r.Context(), startOfDay(time.Now()))
	if err != nil {
		return err
	}
	wages, err := ledger.WageWarnings(r.Context(), wb.Store)
	if err != nil {
		return err
	}
	t := s.t
	var views []personView
	for _, p := range people {
		v := personView{ID: p.ID, Name: p.Name, Role: t.Get("role." + p.Role), Login: p.Login,
			Answers: t.Number(p.Answers), Worker: p.Role == "worker"}
		if w, ok := wages[p.ID]; ok {
			v.Wage = t.Get("office.wage", t.Rupees(w.HourlyRate), t.Rupees(w.Minimum))
		}
		for _, k := range p.Skills {
			v.Skills = append(v.Skills, string(k.Kind)+" ("+k.Language+"): "+t.Get("skill."+k.Status))
		}
		for _, c := range p.Courses {
			v.Courses = append(v.Courses, c.Name+": "+t.Get("attempt."+c.State)+" "+t.Number(c.Answered)+"/"+t.Number(c.Items))
		}
		views = append(views, v)
	}
	link := t.Get("office.offline")
	if st.Online {
		link = t.Get("office.online")
	}
	last := t.Get("office.never")
	if !st.LastSync.IsZero() {
		last = t.Date(st.LastSync)
	}
	data := map[string]any{
		"Title": t.Get("office.title"), "Link": link, "Online": st.Online, "LastSync": last,
		"Backlog": t.Number(st.Pending), "Sent": t.Number(st.Sent),
		"Grants": t.Number(st.ActiveGrants), "Free": t.Number(st.FreeSlots),
		"Missing": t.Number(st.FilesMissing), "People": views,
	}
	for k, v := range extra {
		data[k] = v
	}
	wb.render(w, r, s, status, "office", data)
	return nil
}

func (wb *Web) enrol(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.manager(s); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	login := strings.TrimSpace(strings.ToLower(r.PostFormValue("login")))
	if name == "" || len(name) > 100 {
		return wb.showOffice(w, r, s, http.StatusUnprocessableEntity, map[string]any{"Error": s.t.Get("office.badname"), "Name": name, "Login": login})
	}
	u, login, pin, err := wb.Office.Enrol(r.Context(), name, login)
	switch {
	case errors.Is(err, store.ErrConflict):
		return wb.showOffice(w, r, s, http.StatusConflict, map[string]any{"Error": s.t.Get("office.taken"), "Name": name, "Login": login})
	case err != nil && strings.Contains(err.Error(), "login"):
		return wb.showOffice(w, r, s, http.StatusUnprocessableEntity, map[string]any{"Error": s.t.Get("office.badlogin"), "Name": name, "Login": login})
	case err != nil:
		return err
	}
	wb.Log.Info("worker enrolled from the office page", "user", u.ID, "by", s.User.ID)
	return wb.showPIN(w, r, s, u.Name, login, pin)
}

func (wb *Web) resetPIN(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.manager(s); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	u, err := wb.Auth.User(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.OrgID != s.User.OrgID || u.Role != "worker")) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if err != nil {
		return err
	}
	login, pin, err := wb.Office.ResetPIN(r.Context(), id)
	if err != nil {
		return err
	}
	wb.Log.Info("PIN reset from the office page", "user", u.ID, "by", s.User.ID)
	return wb.showPIN(w, r, s, u.Name, login, pin)
}

// showPIN shows a new PIN once, for the manager to hand over in person.
func (wb *Web) showPIN(w http.ResponseWriter, r *http.Request, s *session, name, login, pin string) error {
	wb.render(w, r, s, http.StatusOK, "pin", map[string]any{"Title": s.t.Get("office.pin.title"),
		"Who": name, "Login": login, "PIN": pin})
	return nil
}
