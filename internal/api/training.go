package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"banyan/internal/auth"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/work"
)

type courseIn struct {
	Name            string          `json:"name"`
	Purpose         string          `json:"purpose"`
	Kind            string          `json:"kind"`
	Language        string          `json:"language"`
	Schema          json.RawMessage `json:"schema"`
	Instructions    string          `json:"instructions"`
	PassMark        float64         `json:"pass_mark"`
	CooldownSeconds int             `json:"cooldown_seconds"`
	Items           []struct {
		Payload     json.RawMessage `json:"payload"`
		Answer      json.RawMessage `json:"answer"`
		Explanation string          `json:"explanation"`
	} `json:"items"`
}

// maxCourseItems bounds one course; courses are for teaching, not volume.
const maxCourseItems = 500

func (a *API) createCourse(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	var in courseIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return problem.New(http.StatusUnprocessableEntity, format, args...)
	}
	name, err := validName("name", in.Name)
	if err != nil {
		return err
	}
	kind, err := work.ParseKind(in.Kind)
	if err != nil {
		return bad("kind: %v", err)
	}
	if in.Language == "" {
		in.Language = "en"
	}
	c := work.Course{Name: name, Purpose: in.Purpose, Kind: kind, Language: in.Language, Instructions: in.Instructions,
		PassMark: in.PassMark, CooldownSeconds: in.CooldownSeconds}
	switch {
	case c.Purpose != work.Training && c.Purpose != work.Qualification:
		return bad("purpose: must be training or qualification")
	case !languagePattern.MatchString(c.Language):
		return bad("language: %q is not a language tag like en, hi or ta", c.Language)
	case c.Purpose == work.Qualification && (c.PassMark <= 0 || c.PassMark > 1):
		return bad("pass_mark: a qualification needs a pass mark above 0 and at most 1, e.g. 0.8")
	case c.Purpose == work.Training && (c.PassMark != 0 || c.CooldownSeconds != 0):
		return bad("pass_mark, cooldown_seconds: only a qualification has them")
	case c.CooldownSeconds < 0 || c.CooldownSeconds > 30*86400:
		return bad("cooldown_seconds: must be from 0 to 2592000 (30 days)")
	case len(in.Items) == 0 || len(in.Items) > maxCourseItems:
		return bad("items: a course needs 1 to %d items", maxCourseItems)
	}
	if len(in.Schema) == 0 {
		return bad("schema: required, as for a project of the same kind")
	}
	if c.Schema, err = work.DecodeSchema(kind, in.Schema); err != nil {
		return err
	}
	items := make([]training.CourseItemIn, len(in.Items))
	for i, it := range in.Items {
		var payload map[string]any
		if err := json.Unmarshal(it.Payload, &payload); err != nil || payload == nil {
			return bad("items[%d].payload: must be a JSON object with the inputs %q", i, c.Schema.Inputs)
		}
		for _, f := range c.Schema.Inputs {
			if v, ok := payload[f]; !ok || v == nil || v == "" {
				return bad("items[%d].payload.%s: missing value: every item needs it", i, f)
			}
		}
		ans, err := work.ParseAnswer(kind, c.Schema, it.Answer)
		if err != nil {
			return bad("items[%d].answer: %v", i, err)
		}
		canon, _ := json.Marshal(ans)
		items[i] = training.CourseItemIn{Payload: it.Payload, Answer: canon, Explanation: it.Explanation}
	}
	c, err = training.CreateCourse(r.Context(), a.Store, c, func(yield func(training.CourseItemIn, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

// canTrain says who may see courses: workers take them, hub staff and
// center managers look after them.
func canTrain(p auth.Principal) bool {
	return p.IsHubStaff() || p.Role == auth.Worker || p.Role == auth.CenterManager || p.Role == auth.Reviewer
}

func (a *API) listCourses(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !canTrain(p) {
		return errForbidden
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, err := training.Courses(r.Context(), a.Store, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(cs, pg, func(c work.Course) string { return c.ID }))
}

func (a *API) getCourse(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !canTrain(p) {
		return errForbidden
	}
	id, err := pathID(r, "course")
	if err != nil {
		return err
	}
	c, err := training.Course(r.Context(), a.Store, id)
	if err != nil {
		return hidden(err, "course")
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *API) startAttempt(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	// A reviewer takes courses too: a passed qualification is the
	// record their audits are weighed by.
	if p.Role != auth.Worker && p.Role != auth.Reviewer {
		return problem.New(http.StatusForbidden, "only workers and reviewers take courses")
	}
	id, err := pathID(r, "course")
	if err != nil {
		return err
	}
	if _, err := training.Course(r.Context(), a.Store, id); errors.Is(err, store.ErrNotFound) {
		return errNotVisible("course")
	} else if err != nil {
		return err
	}
	at, err := training.StartAttempt(r.Context(), a.Store, id, p.UserID)
	if err != nil {
		return err
	}
	if err := training.TouchCourse(r.Context(), a.Store, p.UserID, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, at)
}

// ownAttempt returns the attempt in the path if it is the principal's (or
// the principal is hub staff and may only read).
func (a *API) ownAttempt(r *http.Request, p auth.Principal, staffMayRead bool) (work.Attempt, error) {
	id, err := pathID(r, "attempt")
	if err != nil {
		return work.Attempt{}, err
	}
	at, err := training.Attempt(r.Context(), a.Store, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && at.WorkerID != p.UserID && !(staffMayRead && p.IsHubStaff())) {
		return work.Attempt{}, errNotVisible("attempt")
	}
	return at, err
}

func (a *API) getAttempt(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	at, err := a.ownAttempt(r, p, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, at)
}

func (a *API) nextItem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	at, err := a.ownAttempt(r, p, false)
	if err != nil {
		return err
	}
	c, err := training.Course(r.Context(), a.Store, at.CourseID)
	if err != nil {
		return err
	}
	it, err := training.NextItem(r.Context(), a.Store, at.ID)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, itemOut{AttemptID: at.ID, Item: it, Of: c.Items, Kind: c.Kind, Purpose: c.Purpose,
		Instructions: c.Instructions, Schema: c.Schema})
}

// answerItemIn is the request body of answerItem.
type answerItemIn struct {
	ItemID string          `json:"item_id"`
	Answer json.RawMessage `json:"answer"`
}

func (a *API) answerItem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	at, err := a.ownAttempt(r, p, false)
	if err != nil {
		return err
	}
	var in answerItemIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !work.ValidID(in.ItemID) {
		return problem.New(http.StatusUnprocessableEntity, "item_id: required, from the item you were shown")
	}
	c, err := training.Course(r.Context(), a.Store, at.CourseID)
	if err != nil {
		return err
	}
	ans, err := work.ParseAnswer(c.Kind, c.Schema, in.Answer)
	if err != nil {
		return err
	}
	// The answer is a request in the worker's course session (the last
	// one closes it); a finished attempt's is refused below, and does not
	// open a session again.
	if at.State == work.AttemptOpen {
		if err := training.TouchCourse(r.Context(), a.Store, p.UserID, at.CourseID); err != nil {
			return err
		}
	}
	answerItem := a.AnswerItem
	if answerItem == nil {
		answerItem = training.AnswerItem
	}
	out, err := answerItem(r.Context(), a.Store, at.ID, p.UserID, in.ItemID, ans)
	if err != nil {
		return err
	}
	reply := attemptAnswerOut{Attempt: out.Attempt}
	if c.Purpose == work.Qualification && out.Attempt.State == work.AttemptDone {
		// At a village center: the answers go up, the hub scores them.
		reply.Pending = "the hub scores qualifications; the result arrives with the center's next sync"
	}
	if c.Purpose == work.Training {
		// Training teaches: the answer and why, right away.
		reply.Score, reply.Expected, reply.Explanation = &out.Score, &out.Expected, &out.Explanation
	}
	return writeJSON(w, http.StatusOK, reply)
}

// reinstateIn is the request body of reinstate.
type reinstateIn struct {
	Kind     string `json:"kind"`
	Language string `json:"language"`
}

func (a *API) reinstate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	if u.ID == p.UserID && !p.IsHubStaff() {
		return problem.New(http.StatusForbidden, "a suspension is lifted by passing the qualification again, or by your center manager")
	}
	var in reinstateIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := training.Reinstate(r.Context(), a.Store, u.ID, in.Kind, in.Language); errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusConflict, "the worker is not suspended from %s in %q", in.Kind, in.Language)
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// suspendIn is the request body of suspend.
type suspendIn struct {
	Kind     string `json:"kind"`
	Language string `json:"language"`
	Reason   string `json:"reason"`
}

func (a *API) suspend(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	var in suspendIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if _, err := work.ParseKind(in.Kind); err != nil {
		return problem.New(http.StatusUnprocessableEntity, "kind: %v", err)
	}
	if !languagePattern.MatchString(in.Language) {
		return problem.New(http.StatusUnprocessableEntity, "language: %q is not a language tag like en, hi or ta", in.Language)
	}
	if strings.TrimSpace(in.Reason) == "" {
		return problem.New(http.StatusUnprocessableEntity, "reason: say why; the worker and their center see it")
	}
	if err := training.Suspend(r.Context(), a.Store, u.ID, in.Kind, in.Language, strings.TrimSpace(in.Reason)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
