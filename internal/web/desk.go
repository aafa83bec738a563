package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ledger"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/work"
)

// The worker's desk: sign in with a login and PIN, see the day's work, and
// take tasks one after another — each answer's form posts to the server,
// which replies with the next task's page, one round trip per task.

// Desk is where a worker's tasks come from and their answers go (the
// hub's dispatcher, or a village center's local store; see
// dispatch.Desk), what the worker has done today, and what they earn.
type Desk interface {
	dispatch.Desk
	// Day is what the worker has done today, since the given time.
	Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error)
	// Earnings is the worker's statement over the last
	// ledger.StatementDays: the hub computes it as asked; a village
	// center has the one the hub last sent down (store.ErrNotFound
	// before one came).
	Earnings(ctx context.Context, workerID string) (Earnings, error)
}

// Earnings is a worker's statement as the desk has it.
type Earnings struct {
	ledger.Statement
	// ComputedAt is when the hub computed it, by the hub's clock.
	ComputedAt time.Time
	// Sent says it is the statement the hub last sent down to a village
	// center: it may be out of date.
	Sent bool
}

// graphicKey is the payload field by which a client marks an item that
// may be disturbing (violence, gore, abuse): the desk hides it until the
// worker chooses to see it.
const graphicKey = "graphic"

// isGraphic says whether a task's client marked it disturbing.
func isGraphic(t dispatch.Offer) bool {
	var payload map[string]json.RawMessage
	return json.Unmarshal(t.Payload, &payload) == nil && string(payload[graphicKey]) == "true"
}

// DefaultGraphicCap is how many disturbing items a worker sees in one
// shift (one sign-in) before such items go to others.
const DefaultGraphicCap = 40

func (wb *Web) graphicCap() int {
	if wb.GraphicCap > 0 {
		return wb.GraphicCap
	}
	return DefaultGraphicCap
}

// suggestionKey is the payload field that carries a client's
// pre-annotation: an answer in the project's answer shape, shown filled
// in for the worker to confirm or correct.
const suggestionKey = "suggested"

func (wb *Web) signinPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.secret != "" {
		http.Redirect(w, r, wb.homeOf(s.User.Role), http.StatusSeeOther)
		return nil
	}
	data := map[string]any{"Title": s.t.Get("signin.title")}
	if r.URL.Query().Get("out") == "1" {
		data["Notice"] = s.t.Get("signin.signedout")
	}
	wb.render(w, r, s, http.StatusOK, "signin", data)
	return nil
}

// Sign-in limits within auth.SigninWindow.
const (
	loginFailures  = 5  // per login
	clientFailures = 20 // per address (a center's PCs share one)
)

func (wb *Web) signin(w http.ResponseWriter, r *http.Request, s *session) error {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	login := strings.TrimSpace(r.PostFormValue("login"))
	secret := r.PostFormValue("secret")
	data := map[string]any{"Title": s.t.Get("signin.title"), "Login": login}
	ip := clientIP(r)
	// Failed sign-ins are counted in the database, so every hub on it
	// counts them together: five per login, twenty per address (a
	// center's PCs share one) in auth.SigninWindow.
	// The try is counted before the secret is checked, so tries sent all
	// at once cannot slip past the count.
	limits := auth.SigninLimiter{Store: wb.Store}
	attempt, wait, err := limits.Try(r.Context(), auth.Limit{Key: "login:" + login, Tries: loginFailures},
		auth.Limit{Key: "ip:" + ip, Tries: clientFailures})
	if err != nil {
		return err
	}
	if wait > 0 {
		data["Error"] = s.t.Get("signin.limited", s.t.Number(int(wait.Minutes())+1))
		wb.render(w, r, s, http.StatusTooManyRequests, "signin", data)
		return nil
	}
	u, lang, err := wb.Auth.CheckSecret(r.Context(), login, secret)
	if errors.Is(err, store.ErrNotFound) || (err == nil && wb.homeOf(u.Role) == "") {
		// The try stays counted: a failure.
		wb.Log.Info("sign-in refused", "login_len", len(login))
		data["Error"] = s.t.Get("signin.failed")
		wb.render(w, r, s, http.StatusUnauthorized, "signin", data)
		return nil
	}
	if err != nil {
		return err
	}
	if err := limits.Succeeded(withoutCancel(r.Context()), attempt, "login:"+login); err != nil {
		return err
	}
	// The browser's choice before signing in wins over an old one.
	if c, err := r.Cookie(langCookie); err == nil && knownLang(c.Value) && c.Value != lang {
		if err := wb.Auth.SetLang(r.Context(), u.ID, c.Value); err != nil {
			return err
		}
	}
	secretCookie, err := wb.Auth.CreateSession(r.Context(), u.ID, wb.SessionTTL)
	if err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, secretCookie, wb.SessionTTL)
	http.Redirect(w, r, wb.homeOf(u.Role), http.StatusSeeOther)
	return nil
}

// homeOf is the first page of a role, or "" for a role with no pages
// here yet.
func (wb *Web) homeOf(role string) string {
	switch {
	case role == "worker":
		return "/desk/"
	case role == "center_manager" && wb.Office != nil:
		return "/center/"
	case role == "reviewer" && wb.Reviews != nil:
		return "/desk/review"
	case isClient(role) && wb.API != nil:
		return "/client/"
	case isHubStaff(role) && wb.API != nil:
		return "/ops/"
	}
	return ""
}

func (wb *Web) signout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.Auth.EndSession(r.Context(), s.secret); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, "", -time.Second)
	http.Redirect(w, r, "/desk/signin?out=1", http.StatusSeeOther)
	return nil
}

// chooseLang keeps a language: in a cookie for this browser and, when
// signed in, with the person, so it follows them to the next PC.
func (wb *Web) chooseLang(w http.ResponseWriter, r *http.Request, s *session) error {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	lang := r.PostFormValue("lang")
	if !knownLang(lang) {
		return errPage(http.StatusBadRequest, "error.body")
	}
	setCookie(w, r, langCookie, lang, 365*24*time.Hour)
	if s.secret != "" {
		if err := wb.Auth.SetLang(r.Context(), s.User.ID, lang); err != nil {
			return err
		}
	}
	http.Redirect(w, r, localPath(r.PostFormValue("back"), "/desk/"), http.StatusSeeOther)
	return nil
}

func (wb *Web) worker(s *session) error {
	if s.User.Role != "worker" {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	return nil
}

// startOfDay is midnight of the server's day.
func startOfDay(now time.Time) time.Time {
	y, m, d := now.Local().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.Local)
}

func (wb *Web) home(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	day, err := wb.Desk.Day(r.Context(), s.User.ID, startOfDay(time.Now()))
	if err != nil {
		return err
	}
	accuracy := s.t.Get("home.unmeasured")
	if day.Scored > 0 {
		accuracy = s.t.Percent(day.Accuracy)
	}
	earned := ""
	if day.Priced {
		earned = s.t.Rupees(day.Earned)
	}
	wb.render(w, r, s, http.StatusOK, "home", map[string]any{
		"Title": s.t.Get("home.title"), "Answers": s.t.Number(day.Answers), "Accuracy": accuracy, "Earned": earned,
	})
	return nil
}

func (wb *Web) taskPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	return wb.showNext(w, r, s, "")
}

// showNext renders the worker's next task, or the page saying there is
// none, with an optional notice above it.
func (wb *Web) showNext(w http.ResponseWriter, r *http.Request, s *session, notice string) error {
	t, err := wb.Desk.Next(r.Context(), s.User.ID, "")
	// Past the shift's cap on disturbing items, such items are passed on
	// to others (a bounded number of them in one go).
	for tries := 0; err == nil && isGraphic(t) && wb.breaks.graphic(s.secret, 0) >= wb.graphicCap() && tries < 50; tries++ {
		if err = wb.Desk.Pass(r.Context(), s.User.ID, t.WorkID); err != nil {
			break
		}
		notice = s.t.Get("task.graphic.cap", s.t.Number(wb.graphicCap()))
		t, err = wb.Desk.Next(r.Context(), s.User.ID, "")
	}
	if err == nil && isGraphic(t) && wb.breaks.graphic(s.secret, 0) >= wb.graphicCap() {
		err = dispatch.ErrNoWork
	}
	if errors.Is(err, dispatch.ErrNoWork) {
		wb.render(w, r, s, http.StatusOK, "nowork", map[string]any{"Title": s.t.Get("nowork.title"), "Notice": notice})
		return nil
	}
	if err != nil {
		return err
	}
	var filled *work.Answer
	suggested := false
	if draft, err := dispatch.Draft(r.Context(), wb.Store, s.User.ID, t.WorkID); err != nil {
		return err
	} else if draft != "" {
		var a work.Answer
		if json.Unmarshal([]byte(draft), &a) == nil {
			filled = &a
		}
	}
	if filled == nil {
		filled, suggested = suggestion(t)
	}
	v := taskView(s.t, t, filled)
	v["Suggested"] = suggested
	v["Notice"] = notice
	if worked := wb.breaks.working(s.secret, time.Now()); worked >= breakAfter {
		v["Break"] = s.t.Get("home.break", s.t.Number(int(worked.Minutes())))
	}
	wb.render(w, r, s, http.StatusOK, "task", v)
	return nil
}

// suggestion is a task's pre-annotation, if it carries a valid one.
func suggestion(t dispatch.Offer) (*work.Answer, bool) {
	var payload map[string]json.RawMessage
	if json.Unmarshal(t.Payload, &payload) != nil || payload[suggestionKey] == nil {
		return nil, false
	}
	a, err := work.ParseAnswer(t.Kind, t.Schema, payload[suggestionKey])
	if err != nil {
		return nil, false
	}
	return &a, true
}

func (wb *Web) answer(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	id := r.PostFormValue("assignment")
	if !work.ValidID(id) {
		return errPage(http.StatusBadRequest, "error.body")
	}
	t, err := wb.Desk.Next(r.Context(), s.User.ID, "")
	if errors.Is(err, dispatch.ErrNoWork) || (err == nil && t.WorkID != id) {
		// The form was for a task no longer in hand (sent twice, or timed
		// out and handed on): its answer may still count, so send it.
		t = dispatch.Offer{}
	} else if err != nil {
		return err
	}
	var ans work.Answer
	if t.WorkID != "" {
		ans = answerFromForm(t, r)
	} else {
		ans = looseAnswer(r)
	}
	raw, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	_, err = wb.Desk.Answer(r.Context(), dispatch.Submission{WorkID: id, WorkerID: s.User.ID, Answer: raw})
	var ae *work.AnswerError
	switch {
	case errors.As(err, &ae) && t.WorkID != "":
		v := taskView(s.t, t, &ans)
		v["Error"] = s.t.Get("task.invalid", fieldLabel(ae.Field))
		v["ErrorField"] = ae.Field
		v["ErrorDetail"] = ae.Reason
		wb.render(w, r, s, http.StatusUnprocessableEntity, "task", v)
		return nil
	case errors.Is(err, dispatch.ErrAssignmentClosed), errors.Is(err, store.ErrNotFound), errors.As(err, &ae):
		return wb.showNext(w, r, s, s.t.Get("task.closed"))
	case err != nil:
		return err
	}
	if isGraphic(t) {
		wb.breaks.graphic(s.secret, 1)
	}
	if err := dispatch.DropDraft(withoutCancel(r.Context()), wb.Store, s.User.ID, id); err != nil {
		wb.Log.Warn("draft not dropped", "err", err)
	}
	return wb.showNext(w, r, s, "")
}

// draft keeps what the worker has typed so far (the script sends the form
// every few seconds while they type).
func (wb *Web) draft(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	id := r.PostFormValue("assignment")
	if !work.ValidID(id) {
		return errPage(http.StatusBadRequest, "error.body")
	}
	raw, err := json.Marshal(looseAnswer(r))
	if err != nil {
		return err
	}
	if err := dispatch.SaveDraft(r.Context(), wb.Store, s.User.ID, id, string(raw)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (wb *Web) file(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	f, err := wb.Desk.File(r.Context(), s.User.ID, r.PathValue("id"), r.PathValue("field"))
	if errors.Is(err, store.ErrNotFound) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if err != nil {
		return err
	}
	return wb.Blobs.Serve(w, r, f.SHA256, f.MediaType)
}

// answerFromForm reads the task's form as an answer of its kind.
func answerFromForm(t dispatch.Offer, r *http.Request) work.Answer {
	var a work.Answer
	switch t.Kind {
	case work.Classify:
		if t.Schema.Multi {
			a.Labels = r.PostForm["labels"]
			if a.Labels == nil {
				a.Labels = []string{}
			}
		} else {
			a.Label = r.PostFormValue("label")
		}
	case work.Extract:
		a.Fields = map[string]string{}
		for _, f := range t.Schema.Fields {
			if v := strings.TrimSpace(r.PostFormValue("f_" + f.Name)); v != "" {
				a.Fields[f.Name] = v
			}
		}
	default:
		a.Text = r.PostFormValue("text")
	}
	return a
}

// looseAnswer reads whatever answer fields a form has, for a draft or a
// form whose task is no longer in hand.
func looseAnswer(r *http.Request) work.Answer {
	var a work.Answer
	a.Label = r.PostFormValue("label")
	a.Labels = r.PostForm["labels"]
	a.Text = r.PostFormValue("text")
	for k, vs := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "f_"); ok && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			if a.Fields == nil {
				a.Fields = map[string]string{}
			}
			a.Fields[name] = strings.TrimSpace(vs[0])
		}
	}
	return a
}

func fieldLabel(field string) string {
	if field == "" {
		return "—"
	}
	return strings.ReplaceAll(field, "_", " ")
}

// labelView, fieldView, inputView and fileView are a task's parts as the
// template draws them.
type labelView struct {
	Value   string
	Key     int // its number key, 1–9; 0 for none
	Checked bool
}

type fieldView struct {
	Name, Label, Type, Value, InputMode, Error string
	Required                                   bool
	Options                                    []string
	Max                                        int
}

type inputView struct {
	Name, Value string
}

type fileView struct {
	Field, Name, URL, Media string
}

// inputsOf is a task's input fields, but its files, as the templates
// show them.
func inputsOf(schema *work.Schema, raw json.RawMessage) []inputView {
	var payload map[string]json.RawMessage
	json.Unmarshal(raw, &payload)
	var inputs []inputView
	for _, name := range schema.Inputs {
		if slices.Contains(schema.Files, name) {
			continue
		}
		var text string
		if json.Unmarshal(payload[name], &text) != nil {
			text = string(payload[name])
		}
		inputs = append(inputs, inputView{Name: fieldLabel(name), Value: text})
	}
	return inputs
}

// taskView lays a task out for the task template, filled with an answer
// (a draft, a suggestion, or what was just sent back with an error).
func taskView(t T, task dispatch.Offer, filled *work.Answer) map[string]any {
	var a work.Answer
	if filled != nil {
		a = *filled
	}
	v := map[string]any{
		"Title": t.Get("task.title"), "Script": true,
		"AssignmentID": task.WorkID, "Kind": string(task.Kind), "Instructions": task.Instructions,
		"By": t.Date(task.ExpiresAt), "Multi": task.Schema.Multi,
	}
	v["Graphic"] = isGraphic(task)
	v["Inputs"] = inputsOf(task.Schema, task.Payload)
	v["ReworkNote"] = task.ReworkNote
	var files []fileView
	for _, f := range task.Files {
		media := "other"
		switch {
		case strings.HasPrefix(f.MediaType, "image/"):
			media = "image"
		case strings.HasPrefix(f.MediaType, "audio/"):
			media = "audio"
		case strings.HasPrefix(f.MediaType, "video/"):
			media = "video"
		}
		files = append(files, fileView{Field: fieldLabel(f.Field), Name: f.Name, Media: media,
			URL: "/desk/files/" + task.WorkID + "/" + f.Field})
	}
	v["Files"] = files
	switch task.Kind {
	case work.Classify:
		var labels []labelView
		for i, l := range task.Schema.Labels {
			lv := labelView{Value: l, Checked: l == a.Label || slices.Contains(a.Labels, l)}
			if i < 9 {
				lv.Key = i + 1
			}
			labels = append(labels, lv)
		}
		v["Labels"] = labels
		v["Keys"] = min(len(labels), 9)
	case work.Extract:
		var fields []fieldView
		for _, f := range task.Schema.Fields {
			fv := fieldView{Name: f.Name, Label: fieldLabel(f.Name), Type: "text", Required: f.Required,
				Value: a.Fields[f.Name], Options: f.Options, Max: f.MaxLength}
			switch f.Type {
			case work.FieldNumber:
				fv.InputMode = "decimal"
			case work.FieldInteger:
				fv.InputMode = "numeric"
			case work.FieldDate:
				fv.InputMode = "numeric"
				fv.Type = "date-text"
			case work.FieldEnum:
				fv.Type = "enum"
			}
			if fv.Max == 0 {
				fv.Max = work.DefaultMaxLength
			}
			fields = append(fields, fv)
		}
		v["Fields"] = fields
	default:
		v["Text"] = a.Text
		max := task.Schema.MaxLength
		if max == 0 {
			max = work.DefaultMaxTextLength
		}
		v["MaxText"] = max
	}
	return v
}

// String makes a fieldView print usefully in test failures.
func (f fieldView) String() string { return fmt.Sprintf("%s=%q", f.Name, f.Value) }
