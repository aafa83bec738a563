package api

import (
	"net/http"

	"banyan/internal/auth"
	"banyan/internal/problem"
	"banyan/internal/work"
)

// reviewSettings fills in and checks how a new project's answers are
// reviewed. A respond project is reviewed by rubric — the client's, or
// work.DefaultRubric — with one writer per task, every one of a writer's
// first review_first replies reviewed (default 20) and review_rate of the
// rest (default 0.2). Any other kind takes no rubric and keeps its
// review_rate (default 0).
func (in projectIn) reviewSettings(p *work.Project) error {
	bad := func(format string, args ...any) error {
		return problem.New(http.StatusUnprocessableEntity, format, args...)
	}
	q := &p.Quality
	if in.ReviewRate != nil {
		q.ReviewRate = *in.ReviewRate
	}
	if in.ReviewFirst != nil {
		q.ReviewFirst = *in.ReviewFirst
	}
	if q.Rubric == nil && p.Kind == work.Respond {
		q.Rubric = work.DefaultRubric()
	}
	if q.Rubric == nil {
		if q.ReviewFirst != 0 {
			return bad("review_first: only a respond project, whose replies are reviewed by rubric, uses it")
		}
		return nil
	}
	if p.Kind != work.Respond {
		return bad("rubric: only respond projects are reviewed by rubric; a %s project's answers are settled by agreement", p.Kind)
	}
	if err := q.Rubric.Validate(); err != nil {
		return bad("%v", err)
	}
	if in.ReviewRate == nil {
		q.ReviewRate = work.DefaultRubricReviewRate
	}
	if in.ReviewFirst == nil {
		q.ReviewFirst = work.DefaultReviewFirst
	}
	if q.ReviewFirst < 0 || q.ReviewFirst > work.MaxReviewFirst {
		return bad("review_first: must be from 0 to %d", work.MaxReviewFirst)
	}
	if p.Overlap == 0 {
		p.Overlap = 1
	}
	if p.MaxOverlap == 0 {
		p.MaxOverlap = 1
	}
	if p.Overlap != 1 || p.MaxOverlap != 1 {
		return bad("overlap: a respond project reviewed by rubric has one writer per task; overlap and max_overlap must be 1")
	}
	return nil
}

// scoreReply judges a reply waiting for review on its project's rubric
// (see dispatch.Service.ResolveRubric).
func (a *API) scoreReply(w http.ResponseWriter, r *http.Request, p auth.Principal, taskID string, in resolveTaskIn) error {
	out, err := a.Dispatch.ResolveRubric(r.Context(), p.UserID, taskID, in.Scores, in.Note)
	if err != nil {
		return hidden(err, "task")
	}
	res := resolveOut{TaskID: taskID, State: out.State, Passed: &out.Passed}
	if out.Passed {
		res.Answer = &out.Reply
	}
	return writeJSON(w, http.StatusOK, res)
}
