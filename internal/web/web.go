// Package web is Banyan's HTML interface, served by the hub and by every
// village center: pages rendered on the server with html/template, every
// asset embedded in the binary, working without JavaScript (one small
// script adds keyboard shortcuts and saves drafts as a worker types).
//
// This file holds what every page shares: sessions, the CSRF check, the
// security headers, the language, and rendering. desk.go is the worker's
// desk.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/store"
	"banyan/internal/work"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Web serves the pages. Desk is where a worker's tasks come from and
// their answers go (the hub's dispatcher or a center's local store).
type Web struct {
	Store *store.Store
	// Auth signs people in and keeps their web sessions: the one Service
	// of the hub or center.
	Auth  *auth.Service
	Desk  Desk
	Blobs *blob.Store
	Log   *slog.Logger
	// Place says which server this is in the page header: "hub" or
	// "center" (a catalog key place.<Place>).
	Place string
	// API runs the REST API's routes for the client pages; nil at a
	// center, which has none.
	API APIServer
	// Office is the center manager's view of a village center; nil on
	// the hub, which has no such pages.
	Office Office
	// Reviews is where the hub's reviewers score replies on their
	// projects' rubrics; nil at a center, which has no such pages.
	Reviews Reviews
	// AnswerItem scores a course item's answer; nil means
	// training.AnswerItem (a center sets training.CenterAnswerItem).
	AnswerItem AnswerItemFunc
	// TrainingRate pays training time on the desk, in paise per hour (0:
	// unpaid; a center leaves it 0 and the hub pays what goes up).
	TrainingRate int64
	// Spans are the limits the desk's training time is checked against
	// (the daily cap).
	Spans work.SpanLimits
	// MinimumWage is the floor in paise per active hour the staff's page
	// checks workers against (0: no check).
	MinimumWage int64
	// GraphicCap is how many items marked graphic a worker answers in one
	// shift (a sign-in) before such items go to others; 0 means
	// DefaultGraphicCap.
	GraphicCap int
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours (a shift).
	SessionTTL time.Duration

	once   sync.Once
	pages  map[string]*template.Template
	assets map[string]asset
	breaks *breaks
}

const (
	sessionCookie = "banyan_session"
	langCookie    = "banyan_lang"
)

// asset is an embedded file with its content hash, which its URL carries
// so it can be cached for good.
type asset struct {
	body []byte
	hash string
	kind string
}

func (wb *Web) init() {
	wb.once.Do(func() {
		if wb.SessionTTL <= 0 {
			wb.SessionTTL = 12 * time.Hour
		}
		if wb.Log == nil {
			wb.Log = slog.Default()
		}
		wb.breaks = newBreaks()
		wb.assets = map[string]asset{}
		entries, _ := fs.ReadDir(staticFiles, "static")
		for _, e := range entries {
			body, _ := staticFiles.ReadFile("static/" + e.Name())
			sum := sha256.Sum256(body)
			kind := "text/css; charset=utf-8"
			if strings.HasSuffix(e.Name(), ".js") {
				kind = "text/javascript; charset=utf-8"
			}
			wb.assets[e.Name()] = asset{body: body, hash: hex.EncodeToString(sum[:6]), kind: kind}
		}
		funcs := template.FuncMap{
			"asset": func(name string) string { return "/static/" + name + "?v=" + wb.assets[name].hash },
			"add":   func(a, b int) int { return a + b },
		}
		layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html"))
		wb.pages = map[string]*template.Template{}
		pages, _ := fs.Glob(templateFiles, "templates/*.html")
		for _, p := range pages {
			name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
			if name == "layout" {
				continue
			}
			wb.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, p))
		}
	})
}

// Routes are the pages' routes, for the server's mux and for the tests
// that visit every page.
func (wb *Web) Routes() []Route {
	return []Route{
		{Pattern: "GET /{$}", Handle: wb.root},
		{Pattern: "GET /static/{name}", Handle: wb.static},
		{Pattern: "GET /desk/signin", Handle: wb.signinPage},
		{Pattern: "POST /desk/signin", Handle: wb.signin},
		{Pattern: "POST /desk/signout", Session: true, Handle: wb.signout},
		{Pattern: "POST /desk/lang", Handle: wb.chooseLang},
		{Pattern: "GET /desk/{$}", Session: true, Handle: wb.home},
		{Pattern: "GET /desk/task", Session: true, Handle: wb.taskPage},
		{Pattern: "POST /desk/task", Session: true, Handle: wb.answer},
		{Pattern: "POST /desk/draft", Session: true, Handle: wb.draft},
		{Pattern: "GET /desk/files/{id}/{field}", Session: true, Handle: wb.file},
		{Pattern: "GET /desk/review", Session: true, Handle: wb.reviewPage},
		{Pattern: "POST /desk/review", Session: true, Handle: wb.review},
		{Pattern: "GET /desk/training", Session: true, Handle: wb.training},
		{Pattern: "GET /desk/earnings", Session: true, Handle: wb.earningsPage},
		{Pattern: "POST /desk/training/{id}", Session: true, Handle: wb.startCourse},
		{Pattern: "GET /desk/attempts/{id}", Session: true, Handle: wb.attemptPage},
		{Pattern: "POST /desk/attempts/{id}", Session: true, Handle: wb.answerItem},
		{Pattern: "GET /client/{$}", Session: true, Handle: wb.clientHome},
		{Pattern: "GET /client/projects/new", Session: true, Handle: wb.newProjectPage},
		{Pattern: "POST /client/projects", Session: true, Handle: wb.createProject},
		{Pattern: "GET /client/projects/{id}", Session: true, Handle: wb.projectPage},
		{Pattern: "POST /client/projects/{id}/batches", Session: true, Handle: wb.upload},
		{Pattern: "GET /client/batches/{id}/results", Session: true, Handle: wb.results},
		{Pattern: "GET /client/batches/{id}/quality", Session: true, Handle: wb.quality},
		{Pattern: "GET /client/invoice", Session: true, Handle: wb.invoicePage},
		{Pattern: "GET /client/invoice.csv", Session: true, Handle: wb.invoiceCSV},
		{Pattern: "GET /ops/{$}", Session: true, Handle: wb.opsPage},
		{Pattern: "GET /ops/impact", Session: true, Handle: wb.impactPage},
		{Pattern: "GET /center/{$}", Session: true, Handle: wb.office},
		{Pattern: "POST /center/workers", Session: true, Handle: wb.enrol},
		{Pattern: "POST /center/workers/{id}/pin", Session: true, Handle: wb.resetPIN},
	}
}

// Route is one page or action. Session routes need a signed-in browser.
type Route struct {
	Pattern string // Go 1.22 ServeMux pattern, "METHOD /path"
	Session bool   // served only to a signed-in browser
	Handle  func(w http.ResponseWriter, r *http.Request, s *session) error
}

// Register adds the pages to mux.
func (wb *Web) Register(mux *http.ServeMux) {
	wb.init()
	for _, rt := range wb.Routes() {
		mux.Handle(rt.Pattern, wb.wrap(rt))
	}
}

// session is the request's signed-in person, language and CSRF token.
type session struct {
	auth.WebSession
	secret string
	t      T
}

// wrap adds the headers every page gets, finds the session, checks the
// CSRF token of every form sent, and renders errors as pages.
func (wb *Web) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		s := &session{t: newT(wb.browserLang(r))}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if ws, err := wb.Auth.Session(r.Context(), c.Value); err == nil {
				s.WebSession, s.secret = ws, c.Value
				if knownLang(ws.Lang) {
					s.t = newT(ws.Lang)
				}
			}
		}
		if rt.Session && s.secret == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/desk/signin", http.StatusSeeOther)
				return
			}
			wb.fail(w, r, s, errPage(http.StatusForbidden, "error.expired"))
			return
		}
		if r.Method == http.MethodPost && s.secret != "" && !validCSRF(r, s.CSRF) {
			wb.fail(w, r, s, errPage(http.StatusForbidden, "error.expired"))
			return
		}
		if err := rt.Handle(w, r, s); err != nil {
			wb.fail(w, r, s, err)
		}
	})
}

// validCSRF checks the form's token (or the script's header) against the
// session's.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		// An upload's body is the file, passed on as it streams in; its
		// form puts the token in the URL instead.
		got = r.URL.Query().Get("csrf")
	}
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		got = r.PostFormValue("csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// browserLang is the language a browser chose before signing in, or the
// first of its Accept-Language the pages speak.
func (wb *Web) browserLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && knownLang(c.Value) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		code, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		code, _, _ = strings.Cut(code, "-")
		if knownLang(strings.ToLower(code)) {
			return strings.ToLower(code)
		}
	}
	return defaultLang
}

// pageError is an error shown to the person as a page in their language.
type pageError struct {
	status int
	key    string
	args   []any
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s", e.status, e.key) }

func errPage(status int, key string, args ...any) error { return &pageError{status, key, args} }

func (wb *Web) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		if r.Context().Err() == nil {
			// Paths carry ids only; form values are never logged.
			wb.Log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		pe = &pageError{status: http.StatusInternalServerError, key: "error.body"}
	}
	wb.render(w, r, s, pe.status, "error", map[string]any{"Message": s.t.Get(pe.key, pe.args...)})
}

// view is what every page template gets.
type view struct {
	T        T
	Langs    []Lang
	Place    string
	Title    string
	Signed   bool
	Name     string
	Role     string
	CSRF     string
	Path     string
	Data     map[string]any
	Script   bool
	MainOnly bool
}

func (wb *Web) render(w http.ResponseWriter, r *http.Request, s *session, status int, page string, data map[string]any) {
	tpl, ok := wb.pages[page]
	if !ok {
		panic("web: no page template " + page)
	}
	v := view{T: s.t, Langs: Langs, Place: wb.Place, Signed: s.secret != "", Name: s.User.Name, Role: s.User.Role, CSRF: s.CSRF,
		Path: r.URL.Path, Data: data}
	if title, ok := data["Title"].(string); ok {
		v.Title = title
	}
	v.Script, _ = data["Script"].(bool)
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		wb.Log.Error("page failed to render", "page", page, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", s.t.Lang())
	writeCompressed(w, r, status, buf.Bytes())
}

func (wb *Web) root(w http.ResponseWriter, r *http.Request, s *session) error {
	http.Redirect(w, r, "/desk/", http.StatusSeeOther)
	return nil
}

func (wb *Web) static(w http.ResponseWriter, r *http.Request, s *session) error {
	a, ok := wb.assets[r.PathValue("name")]
	if !ok {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	h := w.Header()
	h.Set("Content-Type", a.kind)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeCompressed(w, r, http.StatusOK, a.body)
	return nil
}

// clientIP is the address a request came from, for the sign-in limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath keeps a redirect on this server: a path, never a URL.
func localPath(p, fallback string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return fallback
	}
	return p
}

// setCookie sets a cookie the page's script cannot read, sent only to
// this site, and only over HTTPS when the page came that way.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}

// withoutCancel is for the few writes a page makes after its answer is
// decided (a draft dropped), which should not fail because the browser
// moved on.
func withoutCancel(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
