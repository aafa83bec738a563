package api

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/ingest"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/work"
)

// maxInstructions caps a project's instructions.
const maxInstructions = 100_000

type projectIn struct {
	ClientID          string          `json:"client_id"`
	Name              string          `json:"name"`
	Kind              string          `json:"kind"`
	Schema            json.RawMessage `json:"schema"`
	Instructions      string          `json:"instructions"`
	Overlap           int             `json:"overlap"`
	MaxOverlap        int             `json:"max_overlap"`
	AssignmentSeconds int             `json:"assignment_seconds"`
	Priority          int             `json:"priority"`
	work.Quality
	// MaxTextError shadows the policy's field so that an explicit 0 (no
	// tolerance, which the setting does not offer) is refused rather
	// than taken for the default.
	MaxTextError *float64 `json:"max_text_error"`
	// ReviewRate and ReviewFirst stand in for Quality's, so that one left
	// out can be told from 0: a project with a rubric has defaults of its
	// own (see reviewSettings).
	ReviewRate  *float64 `json:"review_rate"`
	ReviewFirst *int     `json:"review_first"`
}

var languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// checkPriority refuses a project priority out of its range.
func checkPriority(p int) error {
	if p < 0 || p > work.MaxPriority {
		return problem.New(http.StatusUnprocessableEntity, "priority: must be from 0 (the default) to %d (most urgent), got %d", work.MaxPriority, p)
	}
	return nil
}

// project checks the input and fills in defaults: overlap 3 (1 for respond,
// whose replies are reviewed by rubric; see reviewSettings), max overlap
// two more than overlap, ten minutes to do one task, English, majority
// vote, a confidence target of 0.95 for method ds, suspension after at
// least 5 scored answers (when min_accuracy is set), and for transcribe
// and respond texts that agree up to a character error rate of 0.05;
// priority 0.
func (in projectIn) project() (work.Project, error) {
	bad := func(format string, args ...any) (work.Project, error) {
		return work.Project{}, problem.New(http.StatusUnprocessableEntity, format, args...)
	}
	name, err := validName("name", in.Name)
	if err != nil {
		return work.Project{}, err
	}
	kind, err := work.ParseKind(in.Kind)
	if err != nil {
		return bad("kind: %v", err)
	}
	if len(in.Schema) == 0 {
		return bad("schema: required; for example {\"inputs\": [\"text\"], \"labels\": [\"ok\", \"spam\"]}")
	}
	schema, err := work.DecodeSchema(kind, in.Schema)
	if err != nil {
		return work.Project{}, err
	}
	if len(in.Instructions) > maxInstructions {
		return bad("instructions: at most %d bytes", maxInstructions)
	}
	p := work.Project{Name: name, Kind: kind, Schema: schema, Instructions: in.Instructions,
		Overlap: in.Overlap, MaxOverlap: in.MaxOverlap, AssignmentSeconds: in.AssignmentSeconds, Quality: in.Quality,
		Priority: in.Priority}
	if err := checkPriority(p.Priority); err != nil {
		return work.Project{}, err
	}
	q := &p.Quality
	if err := in.reviewSettings(&p); err != nil {
		return work.Project{}, err
	}
	if q.Language == "" {
		q.Language = "en"
	}
	if q.Method == "" {
		q.Method = work.MethodMV
	}
	if q.Method == work.MethodDS && q.ConfidenceTarget == 0 {
		q.ConfidenceTarget = 0.95
	}
	if q.MinGold == 0 {
		q.MinGold = 5
	}
	q.MaxTextError = work.DefaultMaxTextError
	if in.MaxTextError != nil {
		if kind != work.Transcribe && kind != work.Respond {
			return bad("max_text_error: only transcribe and respond projects compare texts; leave it out for %s", kind)
		}
		q.MaxTextError = *in.MaxTextError
	}
	switch {
	case !languagePattern.MatchString(q.Language):
		return bad("language: %q is not a language tag like en, hi or ta", q.Language)
	case q.Method != work.MethodMV && q.Method != work.MethodDS:
		return bad("method: must be mv (strict majority) or ds (accuracy-weighted, settles at confidence_target)")
	case q.Method == work.MethodMV && q.ConfidenceTarget != 0:
		return bad("confidence_target: only method ds uses a confidence target")
	case q.Method == work.MethodDS && (q.ConfidenceTarget <= 0.5 || q.ConfidenceTarget >= 1):
		return bad("confidence_target: must be above 0.5 and below 1")
	case q.GoldRatio < 0 || q.GoldRatio > 0.5:
		return bad("gold_ratio: must be from 0 to 0.5")
	case q.MinAccuracy < 0 || q.MinAccuracy >= 1:
		return bad("min_accuracy: must be from 0 (never suspend) to below 1")
	case q.MinGold < 1 || q.MinGold > 1000:
		return bad("min_gold: must be from 1 to 1000")
	case q.MinAnswerMS < 0 || q.MinAnswerMS > 3_600_000:
		return bad("min_answer_ms: must be from 0 to 3600000")
	case q.ReviewRate < 0 || q.ReviewRate > 1:
		return bad("review_rate: must be from 0 to 1")
	case !(q.MaxTextError > 0 && q.MaxTextError <= work.MaxTextErrorLimit):
		return bad("max_text_error: must be above 0 and at most %v (a character error rate: 0.05 lets 2 characters in 40 differ)", work.MaxTextErrorLimit)
	}
	if p.Overlap == 0 {
		p.Overlap = work.DefaultOverlap
	}
	if p.MaxOverlap == 0 {
		p.MaxOverlap = min(p.Overlap+2, work.MaxOverlapLimit)
	}
	if p.AssignmentSeconds == 0 {
		p.AssignmentSeconds = work.DefaultAssignmentSeconds
	}
	switch {
	case p.Overlap < 1 || p.Overlap > work.MaxOverlapLimit:
		return bad("overlap: must be from 1 to %d", work.MaxOverlapLimit)
	case p.MaxOverlap < p.Overlap || p.MaxOverlap > work.MaxOverlapLimit:
		return bad("max_overlap: must be from overlap (%d) to %d", p.Overlap, work.MaxOverlapLimit)
	case p.AssignmentSeconds < 10 || p.AssignmentSeconds > 86400:
		return bad("assignment_seconds: must be from 10 to 86400")
	}
	return p, nil
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request, pr auth.Principal) error {
	var in projectIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ClientID == "" && !pr.IsHubStaff() {
		in.ClientID = pr.OrgID
	}
	if in.ClientID == "" {
		return problem.New(http.StatusUnprocessableEntity, "client_id: required when hub staff create a project")
	}
	if !work.ValidID(in.ClientID) || !pr.CanReadClient(in.ClientID) {
		return errNotVisible("client")
	}
	if !pr.CanManageClient(in.ClientID) {
		return errForbidden
	}
	o, err := a.Auth.Org(r.Context(), in.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.Kind != auth.OrgClient) {
		return errNotVisible("client")
	}
	if err != nil {
		return err
	}
	p, err := in.project()
	if err != nil {
		return err
	}
	p.ClientID = o.ID
	p, err = project.CreateProject(r.Context(), a.Store, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	clientID := r.URL.Query().Get("client_id")
	if !p.IsHubStaff() {
		if !p.CanReadClient(p.OrgID) {
			return errForbidden
		}
		if clientID != "" && clientID != p.OrgID {
			return errNotVisible("client")
		}
		clientID = p.OrgID
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	ps, err := project.Projects(r.Context(), a.Store, clientID, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(ps, pg, func(p work.Project) string { return p.ID }))
}

// visibleProject returns the project in the path if the principal may see
// its client's data.
func (a *API) visibleProject(r *http.Request, p auth.Principal) (work.Project, error) {
	id, err := pathID(r, "project")
	if err != nil {
		return work.Project{}, err
	}
	pr, err := a.Dispatch.Project(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.CanReadClient(pr.ClientID)) {
		return work.Project{}, errNotVisible("project")
	}
	return pr, err
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (a *API) uploadBatch(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.upload(w, r, p, work.PurposeWork)
}

func (a *API) uploadGold(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.upload(w, r, p, work.PurposeGold)
}

// upload takes a batch file (work, or gold with known answers), checks it
// whole, and stores it in one transaction.
func (a *API) upload(w http.ResponseWriter, r *http.Request, p auth.Principal, purpose string) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	if !p.CanManageClient(pr.ClientID) {
		return errForbidden
	}
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		name = purpose + " of " + time.Now().UTC().Format("2006-01-02 15:04")
	}
	if name, err = validName("name", name); err != nil {
		return err
	}
	spec := project.BatchSpec{Name: name, Purpose: purpose}
	if d := r.URL.Query().Get("deadline"); d != "" {
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			return problem.New(http.StatusUnprocessableEntity, "deadline: want an RFC 3339 time such as 2026-12-01T18:00:00+05:30, got %q", d)
		}
		if !t.After(time.Now()) {
			return problem.New(http.StatusUnprocessableEntity, "deadline: %s is already past", d)
		}
		t = t.UTC()
		spec.Deadline = &t
	}
	in := ingest.Spec{Inputs: pr.Schema.Inputs, Kind: pr.Kind, Multi: pr.Schema.Multi}
	if purpose == work.PurposeGold {
		in.Gold = func(raw []byte) ([]byte, error) {
			ans, err := work.ParseAnswer(pr.Kind, pr.Schema, raw)
			if err != nil {
				return nil, err
			}
			return json.Marshal(ans)
		}
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, a.MaxUploadBytes)
	formatHint := r.URL.Query().Get("format")
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var spool *ingest.Spool
	var tasks iter.Seq2[project.NewTask, error]
	if mt == "multipart/form-data" {
		// Rows with a zip of the files they name.
		if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
			return problem.New(http.StatusUnsupportedMediaType, "a multipart upload is sent without Content-Encoding (the zip is compressed already)")
		}
		var b *bundle
		if spool, b, err = a.readMultipart(r, body, params["boundary"], formatHint, in); err != nil {
			return err
		}
		defer spool.Close()
		if b != nil {
			defer b.Close()
		}
		if len(pr.Schema.Files) > 0 {
			if b == nil {
				return problem.New(http.StatusUnprocessableEntity, "this project's tasks name files (%s): add a part named files, a zip of them", strings.Join(pr.Schema.Files, ", "))
			}
			list, err := a.attach(spool, b, pr.Schema.Files)
			if err != nil {
				return err
			}
			tasks = each(list)
		}
	} else {
		if len(pr.Schema.Files) > 0 {
			return problem.New(http.StatusUnprocessableEntity, "this project's tasks name files (%s): upload multipart/form-data with a part rows (the batch file) and a part files (a zip of the files)", strings.Join(pr.Schema.Files, ", "))
		}
		if formatHint == "" {
			formatHint = r.Header.Get("Content-Type")
		}
		format, err := ingest.ParseFormat(formatHint)
		if err != nil {
			return problem.New(http.StatusUnsupportedMediaType, "%v (or add ?format=csv or ?format=jsonl)", err)
		}
		switch r.Header.Get("Content-Encoding") {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				return problem.New(http.StatusBadRequest, "Content-Encoding says gzip but the body is not gzip: %v", err)
			}
			defer zr.Close()
			body = io.LimitReader(zr, a.MaxUploadBytes*20)
		default:
			return problem.New(http.StatusUnsupportedMediaType, "Content-Encoding %q is not supported; send gzip or nothing", r.Header.Get("Content-Encoding"))
		}
		if spool, err = ingest.NewSpool(body, format, in, a.Limits, a.SpoolDir); err != nil {
			return err
		}
		defer spool.Close()
	}
	if tasks == nil {
		tasks = spool.All()
	}
	b, err := project.CreateBatch(r.Context(), a.Store, pr, spec, tasks)
	if err != nil {
		return err
	}
	a.Log.Info("batch created", "batch", b.ID, "project", pr.ID, "purpose", purpose, "tasks", b.Tasks)
	return writeJSON(w, http.StatusCreated, b)
}

func (a *API) listBatches(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	bs, err := project.Batches(r.Context(), a.Store, pr.ID, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(bs, pg, func(b work.Batch) string { return b.ID }))
}

func (a *API) visibleBatch(r *http.Request, p auth.Principal) (work.Batch, error) {
	id, err := pathID(r, "batch")
	if err != nil {
		return work.Batch{}, err
	}
	b, err := project.Batch(r.Context(), a.Store, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.CanReadClient(b.ClientID)) {
		return work.Batch{}, errNotVisible("batch")
	}
	return b, err
}

// Progress is where a batch's tasks stand.
type Progress struct {
	Open        int     `json:"open"`
	InProgress  int     `json:"in_progress"`
	NeedsReview int     `json:"needs_review"`
	Done        int     `json:"done"`
	Failed      int     `json:"failed"`
	Answers     int     `json:"answers"`
	PercentDone float64 `json:"percent_done"`
}

type batchOut struct {
	work.Batch
	Progress Progress `json:"progress"`
}

func (a *API) getBatch(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, err := a.visibleBatch(r, p)
	if err != nil {
		return err
	}
	counts, answers, err := project.StateCounts(r.Context(), a.Store, b.ID)
	if err != nil {
		return err
	}
	pg := Progress{Open: counts[work.TaskOpen], InProgress: counts[work.TaskInProgress], NeedsReview: counts[work.TaskNeedsReview],
		Done: counts[work.TaskDone], Failed: counts[work.TaskFailed], Answers: answers}
	if b.Tasks > 0 {
		pg.PercentDone = float64(int(1000*float64(pg.Done+pg.Failed)/float64(b.Tasks))) / 10
	}
	return writeJSON(w, http.StatusOK, batchOut{Batch: b, Progress: pg})
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, err := a.visibleBatch(r, p)
	if err != nil {
		return err
	}
	state := work.TaskState(r.URL.Query().Get("state"))
	if state != "" && !validState(state) {
		return problem.New(http.StatusBadRequest, "state: must be one of open, in_progress, needs_review, done, failed")
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	ts, err := project.Tasks(r.Context(), a.Store, b.ID, state, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageResult(ts, pg, func(t work.Task) string { return t.ID }))
}

func validState(s work.TaskState) bool {
	switch s {
	case work.TaskOpen, work.TaskInProgress, work.TaskNeedsReview, work.TaskDone, work.TaskFailed:
		return true
	}
	return false
}

// visibleTask is the task in the path and its project, if the principal
// may see the project's client.
func (a *API) visibleTask(r *http.Request, p auth.Principal) (work.Task, work.Project, error) {
	id, err := pathID(r, "task")
	if err != nil {
		return work.Task{}, work.Project{}, err
	}
	t, err := project.Task(r.Context(), a.Store, id)
	if err != nil {
		return work.Task{}, work.Project{}, hidden(err, "task")
	}
	pr, err := a.Dispatch.Project(r.Context(), t.ProjectID)
	if err != nil {
		return work.Task{}, work.Project{}, err
	}
	if !p.CanReadClient(pr.ClientID) {
		return work.Task{}, work.Project{}, errNotVisible("task")
	}
	return t, pr, nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, _, err := a.visibleTask(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// visibleBatchProject is visibleBatch with the batch's project.
func (a *API) visibleBatchProject(r *http.Request, p auth.Principal) (work.Batch, work.Project, error) {
	b, err := a.visibleBatch(r, p)
	if err != nil {
		return work.Batch{}, work.Project{}, err
	}
	pr, err := a.Dispatch.Project(r.Context(), b.ProjectID)
	return b, pr, err
}

func (a *API) batchResults(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, pr, err := a.visibleBatchProject(r, p)
	if err != nil {
		return err
	}
	return a.writeResults(w, r, pr, project.ResultScope{BatchID: b.ID})
}

func (a *API) projectResults(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	return a.writeResults(w, r, pr, project.ResultScope{ProjectID: pr.ID})
}

// writeResults streams results as JSONL (the default) or CSV (?format=csv).
// Once the first byte is out an error can no longer become a problem
// response, so it ends the stream early and is logged.
func (a *API) writeResults(w http.ResponseWriter, r *http.Request, pr work.Project, scope project.ResultScope) error {
	format := ingest.JSONL
	if f := r.URL.Query().Get("format"); f != "" {
		var err error
		if format, err = ingest.ParseFormat(f); err != nil {
			return problem.New(http.StatusBadRequest, "format: must be csv, jsonl or labelstudio")
		}
	}
	ctype := "application/jsonl; charset=utf-8"
	switch format {
	case ingest.CSV:
		ctype = "text/csv; charset=utf-8"
	case ingest.LabelStudio:
		ctype = "application/json; charset=utf-8"
		scope.WithPayload = true
	}
	w.Header().Set("Content-Type", ctype)
	ext := string(format)
	if format == ingest.LabelStudio {
		ext = "json"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="results-`+pr.ID+"."+ext+`"`)
	w.Header().Set("Cache-Control", "no-store")
	err := ingest.WriteResults(w, format, pr, func(after string) ([]work.Result, error) {
		return project.Results(r.Context(), a.Store, scope, store.Page{After: after, Limit: 1000})
	})
	if err != nil {
		a.Log.Error("results export ended early", "project", pr.ID, "err", err)
	}
	return nil
}

type reviewItem struct {
	Task    work.Task         `json:"task"`
	Answers []work.Assignment `json:"answers"`
}

func (a *API) reviewQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.CanReview() {
		return errForbidden
	}
	id, err := pathID(r, "project")
	if err != nil {
		return err
	}
	pr, err := a.Dispatch.Project(r.Context(), id)
	if err != nil {
		return hidden(err, "project")
	}
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	ts, err := a.Dispatch.ReviewQueue(r.Context(), pr.ID, pg)
	if err != nil {
		return err
	}
	items := make([]reviewItem, len(ts))
	for i, t := range ts {
		items[i] = reviewItem{Task: t, Answers: []work.Assignment{}}
		if t.ReviewReason == dispatch.ReviewSample && pr.Rubric == nil {
			// A sampled task is reviewed blind, so the verdict measures the
			// delivered answer without being led by it. A reply under
			// review by rubric is what the reviewer judges.
			continue
		}
		answers, err := a.Dispatch.TaskAnswers(r.Context(), t.ID)
		if err != nil {
			return err
		}
		items[i].Answers = answers
	}
	return writeJSON(w, http.StatusOK, pageResult(items, pg, func(it reviewItem) string { return it.Task.ID }))
}

// resolveTaskIn is the request body of resolveTask: the result's answer,
// or, for a reply waiting for scores on its project's rubric, the scores
// (criterion name to score: 1 pass or 0 fail on a pass_fail criterion, 1
// to 5 on a 1-5 one) and a note, required when the reply fails.
type resolveTaskIn struct {
	Answer json.RawMessage `json:"answer"`
	Scores map[string]int  `json:"scores"`
	Note   string          `json:"note"`
}

func (a *API) resolveTask(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.CanReview() {
		return errForbidden
	}
	id, err := pathID(r, "task")
	if err != nil {
		return err
	}
	var in resolveTaskIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	switch {
	case len(in.Answer) > 0 && in.Scores != nil:
		return problem.New(http.StatusUnprocessableEntity, "answer, scores: send one: scores to judge a reply on its project's rubric, or the answer that settles the task")
	case in.Scores != nil:
		return a.scoreReply(w, r, p, id, in)
	case len(in.Answer) == 0:
		return problem.New(http.StatusUnprocessableEntity, "answer: required (or scores, for a reply under review by rubric)")
	case in.Note != "":
		return problem.New(http.StatusUnprocessableEntity, "note: only scores on a rubric take a note")
	}
	answer, err := a.Dispatch.Resolve(r.Context(), p.UserID, id, in.Answer)
	if err != nil {
		return hidden(err, "task")
	}
	return writeJSON(w, http.StatusOK, resolveOut{TaskID: id, State: work.TaskDone, Answer: &answer})
}

func (a *API) batchQuality(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, pr, err := a.visibleBatchProject(r, p)
	if err != nil {
		return err
	}
	rep, err := review.BatchQuality(r.Context(), a.Store, b, pr)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (a *API) refit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	rep, err := a.Dispatch.Refit(r.Context(), pr.ID)
	if errors.Is(err, dispatch.ErrNothingToFit) {
		return problem.New(http.StatusConflict, "the project has no answers a re-fit could use yet")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
