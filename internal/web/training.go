package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"banyan/internal/dispatch"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/work"
)

// Training and qualification on the desk: the courses the hub made (fed
// down to every center), one item at a time. A training item's answer is
// shown with the expected answer and why; a qualification's are not, and
// it passes or fails at the end (at a center, when the hub has scored it).

// AnswerItemFunc scores a worker's answer to a course item (the hub's
// training.AnswerItem, or a center's training.CenterAnswerItem).
type AnswerItemFunc func(ctx context.Context, st *store.Store, attemptID, workerID, itemID string, answer work.Answer) (training.ItemOutcome, error)

func (wb *Web) answerItemFunc() AnswerItemFunc {
	if wb.AnswerItem != nil {
		return wb.AnswerItem
	}
	return training.AnswerItem
}

type courseView struct {
	ID, Name, Purpose, Kind, Language, Items string
}

func (wb *Web) training(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	var views []courseView
	after := ""
	for {
		cs, err := training.Courses(r.Context(), wb.Store, store.Page{After: after, Limit: 200})
		if err != nil {
			return err
		}
		for _, c := range cs {
			views = append(views, courseView{ID: c.ID, Name: c.Name, Purpose: s.t.Get("training." + c.Purpose),
				Kind: string(c.Kind), Language: c.Language, Items: s.t.Get("training.items", s.t.Number(c.Items))})
		}
		if len(cs) < 200 {
			break
		}
		after = cs[len(cs)-1].ID
	}
	wb.render(w, r, s, http.StatusOK, "training", map[string]any{"Title": s.t.Get("training.title"), "Courses": views})
	return nil
}

func (wb *Web) startCourse(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if _, err := training.Course(r.Context(), wb.Store, id); errors.Is(err, store.ErrNotFound) {
		return errPage(http.StatusNotFound, "error.notfound")
	} else if err != nil {
		return err
	}
	at, err := training.StartAttempt(r.Context(), wb.Store, id, s.User.ID)
	if err == nil {
		// Opening a course starts the worker's session of it.
		err = training.TouchCourse(r.Context(), wb.Store, s.User.ID, id)
	}
	if errors.Is(err, training.ErrCoolingDown) {
		last, lerr := wb.lastAttempt(r.Context(), id, s.User.ID)
		when := "—"
		if lerr == nil && last.RetryAfter != nil {
			when = s.t.Date(*last.RetryAfter)
		}
		return errPage(http.StatusConflict, "training.cooling", when)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/desk/attempts/"+at.ID, http.StatusSeeOther)
	return nil
}

// lastAttempt finds a worker's latest attempt at a course, for the date
// they may try again.
func (wb *Web) lastAttempt(ctx context.Context, courseID, workerID string) (work.Attempt, error) {
	return training.LastAttempt(ctx, wb.Store, courseID, workerID)
}

// ownAttempt is the attempt in the path, if it is the worker's.
func (wb *Web) ownAttempt(r *http.Request, s *session) (work.Attempt, work.Course, error) {
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return work.Attempt{}, work.Course{}, errPage(http.StatusNotFound, "error.notfound")
	}
	at, err := training.Attempt(r.Context(), wb.Store, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && at.WorkerID != s.User.ID) {
		return work.Attempt{}, work.Course{}, errPage(http.StatusNotFound, "error.notfound")
	}
	if err != nil {
		return work.Attempt{}, work.Course{}, err
	}
	c, err := training.Course(r.Context(), wb.Store, at.CourseID)
	return at, c, err
}

func (wb *Web) attemptPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	at, c, err := wb.ownAttempt(r, s)
	if err != nil {
		return err
	}
	return wb.showItem(w, r, s, at, c, nil, http.StatusOK)
}

// showItem renders the attempt's next item, or its end.
func (wb *Web) showItem(w http.ResponseWriter, r *http.Request, s *session, at work.Attempt, c work.Course, v map[string]any, status int) error {
	if at.State != work.AttemptOpen {
		return wb.showAttemptEnd(w, r, s, at, c)
	}
	it, err := training.NextItem(r.Context(), wb.Store, at.ID)
	if errors.Is(err, store.ErrNotFound) {
		return wb.showAttemptEnd(w, r, s, at, c)
	}
	if err != nil {
		return err
	}
	if v == nil {
		v = taskView(s.t, dispatch.Offer{WorkID: at.ID, Payload: it.Payload, Kind: c.Kind, Schema: c.Schema, Instructions: c.Instructions}, nil)
	}
	v["Title"] = c.Name
	v["Action"] = "/desk/attempts/" + at.ID
	v["ItemID"] = it.ID
	v["Progress"] = s.t.Get("training.item", s.t.Number(at.Answered+1), s.t.Number(at.Items))
	v["By"] = ""
	wb.render(w, r, s, status, "task", v)
	return nil
}

func (wb *Web) showAttemptEnd(w http.ResponseWriter, r *http.Request, s *session, at work.Attempt, c work.Course) error {
	var msg string
	// An attempt's score is the sum of its items' scores.
	share := 0.0
	if at.Items > 0 {
		share = at.Score / float64(at.Items)
	}
	switch at.State {
	case work.AttemptPassed:
		msg = s.t.Get("training.passed", s.t.Percent(share))
	case work.AttemptFailed:
		when := "—"
		if at.RetryAfter != nil {
			when = s.t.Date(*at.RetryAfter)
		}
		msg = s.t.Get("training.failed", s.t.Percent(share), s.t.Percent(c.PassMark), when)
	default:
		msg = s.t.Get("training.done")
		if c.Purpose == work.Qualification {
			// A center's qualification waits for the hub to score it.
			msg = s.t.Get("training.pending")
		}
	}
	wb.render(w, r, s, http.StatusOK, "attempt", map[string]any{"Title": c.Name, "Message": msg})
	return nil
}

func (wb *Web) answerItem(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	at, c, err := wb.ownAttempt(r, s)
	if err != nil {
		return err
	}
	itemID := r.PostFormValue("item")
	if !work.ValidID(itemID) {
		return errPage(http.StatusBadRequest, "error.body")
	}
	task := dispatch.Offer{WorkID: at.ID, Kind: c.Kind, Schema: c.Schema, Instructions: c.Instructions}
	ans := answerFromForm(task, r)
	checked, err := work.Check(c.Kind, c.Schema, ans)
	var ae *work.AnswerError
	if errors.As(err, &ae) {
		it, nerr := training.NextItem(r.Context(), wb.Store, at.ID)
		if nerr != nil {
			return nerr
		}
		task.Payload = it.Payload
		v := taskView(s.t, task, &ans)
		v["Error"] = s.t.Get("task.invalid", fieldLabel(ae.Field))
		v["ErrorField"] = ae.Field
		v["ErrorDetail"] = ae.Reason
		return wb.showItem(w, r, s, at, c, v, http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	// Training time is counted as each item of a training course is
	// answered (not a qualification's: that is a test, not training).
	if at.State == work.AttemptOpen && c.Purpose == work.Training {
		wb.trainingTime(r.Context(), s, c.ID)
	}
	out, err := wb.answerItemFunc()(r.Context(), wb.Store, at.ID, s.User.ID, itemID, checked)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		// Sent twice, or the attempt moved on: show where it is now.
		http.Redirect(w, r, "/desk/attempts/"+at.ID, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if c.Purpose != work.Training {
		return wb.showItem(w, r, s, out.Attempt, c, nil, http.StatusOK)
	}
	verdict := s.t.Get("training.right")
	switch {
	case out.Score <= 0:
		verdict = s.t.Get("training.wrong")
	case out.Score < 1:
		verdict = s.t.Get("training.partly", s.t.Percent(out.Score))
	}
	wb.render(w, r, s, http.StatusOK, "feedback", map[string]any{
		"Title": c.Name, "Verdict": verdict, "Right": out.Score >= 1,
		"Expected": answerText(out.Expected), "Explanation": out.Explanation,
		"Next": "/desk/attempts/" + at.ID,
	})
	return nil
}

// answerText writes an answer for a person to read.
func answerText(a work.Answer) string {
	switch {
	case a.Label != "":
		return a.Label
	case a.Labels != nil:
		return strings.Join(a.Labels, ", ")
	case a.Fields != nil:
		var parts []string
		for k, v := range a.Fields {
			parts = append(parts, fieldLabel(k)+": "+v)
		}
		slices.Sort(parts)
		return strings.Join(parts, "; ")
	}
	return a.Text
}

// trainingTime counts the worker's time in the course since the server
// last counted it as training, by the server's clock (the session of the
// course the desk's requests keep), and pays it where the rate is known.
// Time refused (overlapping task time, past the daily cap) is not counted.
func (wb *Web) trainingTime(ctx context.Context, s *session, courseID string) {
	_, err := training.CreditTraining(withoutCancel(ctx), wb.Store, s.User.ID, courseID, wb.Spans, wb.TrainingRate)
	var se *work.SpanError
	switch {
	case errors.As(err, &se):
		wb.Log.Info("training time not counted", "worker", s.User.ID, "course", courseID, "reason", se.Reason)
	case err != nil:
		wb.Log.Warn("training time not recorded", "err", err)
	}
}
