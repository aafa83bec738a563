package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"banyan/internal/dispatch"
	"banyan/internal/store"
	"banyan/internal/work"
)

// The hub reviewer's desk: replies of respond projects sampled for review,
// one after another, each shown with its task's input and the project's
// rubric; the reviewer scores every criterion and may write a note (which
// a failing reply needs: the next writer reads it). A village center has
// no such page: reviews by rubric are the hub's.

// Reviews is where a hub reviewer's replies to score come from and their
// scores go: the hub's dispatcher (see dispatch.Service.ResolveRubric).
type Reviews interface {
	// NextRubricReview is the oldest reply waiting for scores that the
	// reviewer did not write; dispatch.ErrNoWork when there is none.
	NextRubricReview(ctx context.Context, reviewerID string) (dispatch.RubricItem, error)
	// RubricReview is the task's reply if it still waits for scores;
	// dispatch.ErrNoWork if not.
	RubricReview(ctx context.Context, reviewerID, taskID string) (dispatch.RubricItem, error)
	// ResolveRubric judges the reply on the rubric.
	ResolveRubric(ctx context.Context, reviewerID, taskID string, scores map[string]int, note string) (dispatch.RubricOutcome, error)
}

// reviewer refuses anyone but a reviewer or hub staff, and every server
// without reviews by rubric.
func (wb *Web) reviewer(s *session) error {
	if wb.Reviews == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if s.User.Role != "reviewer" && !isHubStaff(s.User.Role) {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	return nil
}

func (wb *Web) reviewPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.reviewer(s); err != nil {
		return err
	}
	return wb.showReview(w, r, s, "")
}

// showReview renders the reviewer's next reply to score, or the page
// saying there is none, with an optional notice above it.
func (wb *Web) showReview(w http.ResponseWriter, r *http.Request, s *session, notice string) error {
	it, err := wb.Reviews.NextRubricReview(r.Context(), s.User.ID)
	if errors.Is(err, dispatch.ErrNoWork) {
		wb.render(w, r, s, http.StatusOK, "noreview", map[string]any{"Title": s.t.Get("review.none.title"), "Notice": notice})
		return nil
	}
	if err != nil {
		return err
	}
	v := reviewView(s.t, it, nil, "")
	v["Notice"] = notice
	wb.render(w, r, s, http.StatusOK, "review", v)
	return nil
}

// review takes a reviewer's scores and note for one reply.
func (wb *Web) review(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.reviewer(s); err != nil {
		return err
	}
	taskID := r.PostFormValue("task")
	if !work.ValidID(taskID) {
		return errPage(http.StatusBadRequest, "error.body")
	}
	it, err := wb.Reviews.RubricReview(r.Context(), s.User.ID, taskID)
	if errors.Is(err, dispatch.ErrNoWork) {
		return wb.showReview(w, r, s, s.t.Get("review.gone"))
	}
	if err != nil {
		return err
	}
	// Every criterion needs a score on its scale; a criterion without
	// one is marked and the page comes back as the reviewer left it.
	scores := map[string]int{}
	var missing []string
	for _, c := range it.Rubric.Criteria {
		v, err := strconv.Atoi(r.PostFormValue("c_" + c.Name))
		if err != nil || !c.OnScale(v) {
			missing = append(missing, c.Name)
			continue
		}
		scores[c.Name] = v
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	pass, _ := it.Rubric.Judge(scores)
	problem := ""
	switch {
	case len(missing) > 0:
		problem = s.t.Get("review.incomplete", strings.Join(missing, ", "))
	case !pass && note == "":
		problem = s.t.Get("review.note.required")
	case len(note) > work.MaxReviewNote:
		problem = s.t.Get("review.note.long", s.t.Number(work.MaxReviewNote))
	}
	if problem != "" {
		v := reviewView(s.t, it, scores, note)
		v["Error"] = problem
		v["NoteInvalid"] = len(missing) == 0
		wb.render(w, r, s, http.StatusUnprocessableEntity, "review", v)
		return nil
	}
	out, err := wb.Reviews.ResolveRubric(r.Context(), s.User.ID, taskID, scores, note)
	if errors.Is(err, store.ErrConflict) {
		return wb.showReview(w, r, s, s.t.Get("review.gone"))
	}
	if err != nil {
		return err
	}
	notice := s.t.Get("review.done.passed")
	switch {
	case out.State == work.TaskNeedsReview:
		notice = s.t.Get("review.done.rewrite")
	case !out.Passed:
		notice = s.t.Get("review.done.failed")
	}
	return wb.showReview(w, r, s, notice)
}

// criterionView and choiceView are a rubric's criterion and its scores
// as the review template draws them.
type criterionView struct {
	Field, Name, Help, Rule string
	Scale                   bool // the 1–5 scale, drawn in a row
	// Invalid marks a criterion sent back without a score.
	Invalid bool
	Choices []choiceView
}

type choiceView struct {
	Value, Label string
	Checked      bool
}

// reviewView lays a reply out for the review template with its rubric,
// filled with the scores and note the reviewer sent, if any (scores nil
// when they have sent none).
func reviewView(t T, it dispatch.RubricItem, scores map[string]int, note string) map[string]any {
	why := t.Get("review.why.sample")
	if it.Reason == dispatch.ReviewNewWriter {
		why = t.Get("review.why.new_writer")
	}
	var criteria []criterionView
	for _, c := range it.Rubric.Criteria {
		cv := criterionView{Field: "c_" + c.Name, Name: fieldLabel(c.Name), Help: c.Description}
		if cv.Help == "" {
			if help, ok := catalogs[t.Lang()]["rubric."+c.Name]; ok {
				cv.Help = help
			}
		}
		given, scored := scores[c.Name]
		cv.Invalid = scores != nil && !scored
		if c.Scale == work.ScaleOneToFive {
			cv.Scale = true
			cv.Rule = t.Get("review.min", t.Number(c.Min))
			for v := 1; v <= 5; v++ {
				cv.Choices = append(cv.Choices, choiceView{Value: strconv.Itoa(v), Label: t.Number(v), Checked: scored && given == v})
			}
		} else {
			cv.Choices = []choiceView{
				{Value: "1", Label: t.Get("review.pass"), Checked: scored && given == 1},
				{Value: "0", Label: t.Get("review.fail"), Checked: scored && given == 0},
			}
		}
		criteria = append(criteria, cv)
	}
	return map[string]any{
		"Title": t.Get("review.title"), "TaskID": it.TaskID, "Project": it.ProjectName, "Why": why,
		"Instructions": it.Instructions, "Inputs": inputsOf(it.Schema, it.Payload), "Reply": it.Reply.Text,
		"Criteria": criteria, "Note": note, "MaxNote": work.MaxReviewNote,
	}
}
