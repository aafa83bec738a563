package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/work"
)

// The client's pages, served by the hub: projects, a new project from a
// template per kind, batch upload, batch progress, the quality report and
// the results. Every change and every read goes through the REST API's
// own handlers (APIServer), with the session's person as the principal, so
// the pages check and answer exactly as the API does.

// APIServer runs an API route for a principal the pages authenticated.
type APIServer interface {
	ServeAs(w http.ResponseWriter, r *http.Request, p auth.Principal, pattern string)
}

func principal(s *session) auth.Principal {
	return auth.Principal{UserID: s.User.ID, Name: s.User.Name, OrgID: s.User.OrgID, Role: auth.Role(s.User.Role)}
}

func isClient(role string) bool { return role == "client_admin" || role == "client_viewer" }

func (wb *Web) client(s *session) error {
	if wb.API == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if !isClient(s.User.Role) {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	return nil
}

// clientAdmin lets through only a client's admin: a viewer reads, and
// neither makes projects nor uploads.
func (wb *Web) clientAdmin(s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	if s.User.Role != "client_admin" {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	return nil
}

// apiReply is what an API route answered.
type apiReply struct {
	status int
	body   []byte
}

// problemDetail is the API's explanation of a refusal.
func (a apiReply) problemDetail() string {
	var p struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	if json.Unmarshal(a.body, &p) == nil && p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// call runs an API route and keeps its reply. ids fill the route's {id}.
func (wb *Web) call(ctx context.Context, s *session, method, pattern, id string, query url.Values, body io.Reader, contentType string) apiReply {
	path := strings.TrimPrefix(pattern, method+" ")
	req := httptest.NewRequestWithContext(ctx, method, strings.ReplaceAll(path, "{id}", id)+"?"+query.Encode(), body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if id != "" {
		req.SetPathValue("id", id)
	}
	rec := httptest.NewRecorder()
	wb.API.ServeAs(rec, req, principal(s), pattern)
	return apiReply{status: rec.Code, body: rec.Body.Bytes()}
}

type projectRow struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Instructions string    `json:"instructions"`
	Overlap      int       `json:"overlap"`
	CreatedAt    time.Time `json:"created_at"`
	Schema       *work.Schema
}

type batchRow struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Purpose     string     `json:"purpose"`
	Tasks       int        `json:"tasks"`
	TasksDone   int        `json:"tasks_done"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Deadline    *time.Time `json:"deadline"`
}

func (wb *Web) clientHome(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	var projects []projectRow
	cursor := ""
	for {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		rep := wb.call(r.Context(), s, "GET", "GET /api/v1/projects", "", q, nil, "")
		if rep.status != http.StatusOK {
			return fmt.Errorf("projects: %d %s", rep.status, rep.problemDetail())
		}
		var page struct {
			Items      []projectRow `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		if err := json.Unmarshal(rep.body, &page); err != nil {
			return err
		}
		projects = append(projects, page.Items...)
		if page.NextCursor == "" || len(projects) > 2000 {
			break
		}
		cursor = page.NextCursor
	}
	type view struct{ ID, Name, Kind, Created string }
	var views []view
	for _, p := range projects {
		views = append(views, view{p.ID, p.Name, s.t.Get("kind." + p.Kind), s.t.Date(p.CreatedAt)})
	}
	wb.render(w, r, s, http.StatusOK, "client", map[string]any{"Title": s.t.Get("client.title"), "Projects": views,
		"CanEdit": s.User.Role == "client_admin"})
	return nil
}

// projectTemplate is a new project's form, filled with an example for its
// kind.
type projectTemplate struct {
	Kind, Name, Instructions, Inputs, Labels, Fields string
	Multi                                            bool
	Overlap                                          int
}

var templates = map[string]projectTemplate{
	"classify": {Kind: "classify", Name: "Comment moderation", Instructions: "Mark advertising as spam and insults as abuse; everything else is ok.",
		Inputs: "text", Labels: "ok\nspam\nabuse", Overlap: 3},
	"extract": {Kind: "extract", Name: "Invoice data entry", Instructions: "Type each field as printed on the invoice.",
		Inputs: "scan", Fields: "vendor: text *\ninvoice_no: text *\ninvoice_date: date *\ntotal: number *", Overlap: 2},
	"transcribe": {Kind: "transcribe", Name: "Call transcription", Instructions: "Write down every word spoken, in the language spoken.",
		Inputs: "audio", Overlap: 2},
	"respond": {Kind: "respond", Name: "Support replies", Instructions: "Answer the customer politely in two or three sentences.",
		Inputs: "question", Overlap: 1},
}

var kinds = []string{"classify", "extract", "transcribe", "respond"}

func (wb *Web) newProjectPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.clientAdmin(s); err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	tpl, ok := templates[kind]
	if !ok {
		tpl = templates["classify"]
	}
	return wb.showNewProject(w, r, s, http.StatusOK, tpl, "")
}

func (wb *Web) showNewProject(w http.ResponseWriter, r *http.Request, s *session, status int, tpl projectTemplate, problem string) error {
	type kindView struct {
		Code, Name string
		Current    bool
	}
	var ks []kindView
	for _, k := range kinds {
		ks = append(ks, kindView{k, s.t.Get("kind." + k), k == tpl.Kind})
	}
	wb.render(w, r, s, status, "newproject", map[string]any{"Title": s.t.Get("client.new"), "Kinds": ks, "P": tpl,
		"Error": problem})
	return nil
}

// parseFields reads an extract form's field lines, "name: type" with a
// trailing * for a required field and "enum(a|b|c)" for a list.
func parseFields(text string) ([]work.Field, error) {
	var out []work.Field
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, typ, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: write name: type", n+1)
		}
		f := work.Field{Name: strings.TrimSpace(name)}
		typ = strings.TrimSpace(typ)
		if strings.HasSuffix(typ, "*") {
			f.Required, typ = true, strings.TrimSpace(strings.TrimSuffix(typ, "*"))
		}
		if opts, ok := strings.CutPrefix(typ, "enum("); ok {
			f.Type = work.FieldEnum
			for _, o := range strings.Split(strings.TrimSuffix(opts, ")"), "|") {
				f.Options = append(f.Options, strings.TrimSpace(o))
			}
		} else {
			f.Type = work.FieldType(typ)
		}
		out = append(out, f)
	}
	return out, nil
}

func (wb *Web) createProject(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.clientAdmin(s); err != nil {
		return err
	}
	tpl := projectTemplate{Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"), Instructions: r.PostFormValue("instructions"),
		Inputs: r.PostFormValue("inputs"), Labels: r.PostFormValue("labels"), Fields: r.PostFormValue("fields"),
		Multi: r.PostFormValue("multi") == "on"}
	tpl.Overlap, _ = strconv.Atoi(r.PostFormValue("overlap"))
	schema := map[string]any{}
	var inputs []string
	for _, in := range strings.Split(tpl.Inputs, ",") {
		if in = strings.TrimSpace(in); in != "" {
			inputs = append(inputs, in)
		}
	}
	schema["inputs"] = inputs
	switch tpl.Kind {
	case "classify":
		var labels []string
		for _, l := range strings.Split(tpl.Labels, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		schema["labels"], schema["multi"] = labels, tpl.Multi
	case "extract":
		fields, err := parseFields(tpl.Fields)
		if err != nil {
			return wb.showNewProject(w, r, s, http.StatusUnprocessableEntity, tpl, s.t.Get("client.fields")+": "+err.Error())
		}
		schema["fields"] = fields
	case "transcribe":
		schema["files"] = inputs
	}
	body, err := json.Marshal(map[string]any{"name": tpl.Name, "kind": tpl.Kind, "instructions": tpl.Instructions,
		"overlap": tpl.Overlap, "schema": schema})
	if err != nil {
		return err
	}
	rep := wb.call(r.Context(), s, "POST", "POST /api/v1/projects", "", nil, bytes.NewReader(body), "application/json")
	if rep.status != http.StatusCreated {
		return wb.showNewProject(w, r, s, http.StatusUnprocessableEntity, tpl, rep.problemDetail())
	}
	var p projectRow
	if err := json.Unmarshal(rep.body, &p); err != nil {
		return err
	}
	http.Redirect(w, r, "/client/projects/"+p.ID, http.StatusSeeOther)
	return nil
}

func (wb *Web) projectPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	return wb.showProject(w, r, s, http.StatusOK, r.URL.Query().Get("uploaded") != "", "")
}

func (wb *Web) showProject(w http.ResponseWriter, r *http.Request, s *session, status int, uploaded bool, problem string) error {
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/projects/{id}", id, nil, nil, "")
	if rep.status == http.StatusNotFound || rep.status == http.StatusForbidden {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if rep.status != http.StatusOK {
		return fmt.Errorf("project: %d %s", rep.status, rep.problemDetail())
	}
	var p projectRow
	if err := json.Unmarshal(rep.body, &p); err != nil {
		return err
	}
	rep = wb.call(r.Context(), s, "GET", "GET /api/v1/projects/{id}/batches", id, url.Values{"limit": {"200"}}, nil, "")
	var page struct {
		Items []batchRow `json:"items"`
	}
	if rep.status != http.StatusOK || json.Unmarshal(rep.body, &page) != nil {
		return fmt.Errorf("batches: %d %s", rep.status, rep.problemDetail())
	}
	type batchView struct {
		ID, Name, Purpose, Done, Of, Share, Created, Deadline string
		Tasks, TasksDone                                      int
		Complete                                              bool
	}
	var bs []batchView
	for _, b := range page.Items {
		v := batchView{ID: b.ID, Name: b.Name, Purpose: s.t.Get("purpose." + b.Purpose), Tasks: b.Tasks, TasksDone: b.TasksDone,
			Done: s.t.Number(b.TasksDone), Of: s.t.Number(b.Tasks), Created: s.t.Date(b.CreatedAt), Complete: b.CompletedAt != nil}
		if b.Tasks > 0 {
			v.Share = s.t.Percent(float64(b.TasksDone) / float64(b.Tasks))
		}
		if b.Deadline != nil {
			v.Deadline = s.t.Date(*b.Deadline)
		}
		bs = append(bs, v)
	}
	wb.render(w, r, s, status, "project", map[string]any{"Title": p.Name, "P": p, "Kind": s.t.Get("kind." + p.Kind),
		"Batches": bs, "CanEdit": s.User.Role == "client_admin", "Uploaded": uploaded, "Error": problem, "Script": true,
		"Inputs": strings.Join(p.Schema.Inputs, ", ")})
	return nil
}

// upload passes a batch file to the API's upload, streaming: the form's
// CSRF token and the batch's name come in the URL, since the body is the
// file itself. The page's script sends it with a progress bar and reads
// the JSON reply; without the script the reply is the project page.
func (wb *Web) upload(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.clientAdmin(s); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	q := url.Values{}
	if name := strings.TrimSpace(r.URL.Query().Get("name")); name != "" {
		q.Set("name", name)
	}
	rep := wb.call(r.Context(), s, "POST", "POST /api/v1/projects/{id}/batches", id, q, r.Body, r.Header.Get("Content-Type"))
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		w.Write(rep.body)
		return nil
	}
	if rep.status != http.StatusCreated {
		return wb.showProject(w, r, s, http.StatusUnprocessableEntity, false, rep.problemDetail())
	}
	http.Redirect(w, r, "/client/projects/"+id+"?uploaded=1", http.StatusSeeOther)
	return nil
}

// results streams a batch's results as CSV, straight from the API.
func (wb *Web) results(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: "/api/v1/batches/" + id + "/results", RawQuery: "format=csv"}
	req.SetPathValue("id", id)
	w.Header().Set("Content-Disposition", `attachment; filename="results-`+id+`.csv"`)
	wb.API.ServeAs(w, req, principal(s), "GET /api/v1/batches/{id}/results")
	return nil
}

func (wb *Web) quality(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !work.ValidID(id) {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/batches/{id}/quality", id, nil, nil, "")
	if rep.status == http.StatusNotFound || rep.status == http.StatusForbidden {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if rep.status != http.StatusOK {
		return fmt.Errorf("quality: %d %s", rep.status, rep.problemDetail())
	}
	var q struct {
		Estimated *interval `json:"estimated_accuracy"`
		Gold      *interval `json:"gold_pass_rate"`
		Agreement *float64  `json:"agreement_rate"`
		Reviewed  int       `json:"reviewed_tasks"`
		Flagged   int       `json:"flagged_answers"`
		Workers   []struct {
			Answers int `json:"answers"`
		} `json:"workers"`
	}
	if err := json.Unmarshal(rep.body, &q); err != nil {
		return err
	}
	back := r.URL.Query().Get("project")
	if !work.ValidID(back) {
		back = ""
	}
	show := func(iv *interval) string {
		if iv == nil {
			return s.t.Get("client.notyet")
		}
		return s.t.Get("client.interval", s.t.Percent(iv.Value), s.t.Percent(iv.Low), s.t.Percent(iv.High), s.t.Number(iv.Sample))
	}
	agreement := s.t.Get("client.notyet")
	if q.Agreement != nil {
		agreement = s.t.Percent(*q.Agreement)
	}
	wb.render(w, r, s, http.StatusOK, "quality", map[string]any{"Title": s.t.Get("client.quality"), "Estimated": show(q.Estimated),
		"Gold": show(q.Gold), "Agreement": agreement, "Reviewed": s.t.Number(q.Reviewed), "Flagged": s.t.Number(q.Flagged),
		"Workers": s.t.Number(len(q.Workers)), "Back": back})
	return nil
}

// interval is a measured share with its 95 % interval.
type interval struct {
	Value  float64 `json:"value"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Sample int     `json:"sample"`
}

// invoicePage shows the client's invoice for a period, printable.
func (wb *Web) invoicePage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	q := url.Values{}
	for _, k := range []string{"from", "to"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/clients/{id}/invoice", s.User.OrgID, q, nil, "")
	if rep.status != http.StatusOK {
		if rep.status == http.StatusBadRequest {
			wb.render(w, r, s, http.StatusBadRequest, "invoice", map[string]any{"Title": s.t.Get("client.invoice"), "Error": rep.problemDetail()})
			return nil
		}
		return fmt.Errorf("invoice: %d %s", rep.status, rep.problemDetail())
	}
	var inv struct {
		ClientName  string `json:"client_name"`
		From, To    string
		Results     int
		Subtotal    int64
		GST         int64
		Total       int64
		LedgerBatch int64  `json:"ledger_batch"`
		LedgerHead  string `json:"ledger_head"`
		Lines       []struct {
			Project, Batch string
			Results        int
			Amount         int64
			PerResult      int64 `json:"per_result"`
			GSTBps         int   `json:"gst_bps"`
			GST            int64
			Credit         bool
		}
	}
	if err := json.Unmarshal(rep.body, &inv); err != nil {
		return err
	}
	t := s.t
	type line struct {
		Project, Batch, Results, Amount, PerResult, GST, Total string
		Credit                                                 bool
	}
	var lines []line
	for _, l := range inv.Lines {
		lines = append(lines, line{l.Project, l.Batch, t.Number(l.Results), t.Rupees(l.Amount), t.Rupees(l.PerResult),
			t.Rupees(l.GST) + " (" + t.Percent(float64(l.GSTBps)/10000) + ")", t.Rupees(l.Amount + l.GST), l.Credit})
	}
	wb.render(w, r, s, http.StatusOK, "invoice", map[string]any{"Title": t.Get("client.invoice"), "Client": inv.ClientName,
		"From": inv.From, "To": inv.To, "Lines": lines, "Results": t.Number(inv.Results), "Subtotal": t.Rupees(inv.Subtotal),
		"GST": t.Rupees(inv.GST), "Total": t.Rupees(inv.Total), "Head": t.Get("client.head", inv.LedgerBatch, inv.LedgerHead),
		"CSV": "/client/invoice.csv?" + url.Values{"from": {inv.From}, "to": {inv.To}}.Encode()})
	return nil
}

// invoiceCSV streams the same invoice as CSV, from the API.
func (wb *Web) invoiceCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.client(s); err != nil {
		return err
	}
	q := url.Values{"format": {"csv"}}
	for _, k := range []string{"from", "to"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: "/api/v1/clients/" + s.User.OrgID + "/invoice", RawQuery: q.Encode()}
	req.SetPathValue("id", s.User.OrgID)
	wb.API.ServeAs(w, req, principal(s), "GET /api/v1/clients/{id}/invoice")
	return nil
}
