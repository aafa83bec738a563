package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"banyan/internal/work"
)

// DemoOptions size the demo scenario.
type DemoOptions struct {
	Seed     uint64
	Posts    int // moderation items
	Invoices int // invoices to key
	Workers  int
	// TimeScale divides every simulated task time before the worker sleeps
	// it, so a day's work fits in seconds while fast workers still do more
	// than slow ones.
	TimeScale float64
	// Progress, if set, gets a line now and then while the demo runs.
	Progress io.Writer
	// Center, if set, puts a share of the workers in a village center
	// behind a simulated link, with an outage in the middle of the work.
	Center *DemoCenter
}

// DemoCenter is the village center of the demo, as the demo needs to see
// it: the center's worker API, a way to enrol its workers, the link to
// break, and a way to check the hub against what workers were told.
type DemoCenter struct {
	// URL is the center's worker API.
	URL string
	// Enrol enrols a worker at the center and returns their id (the same
	// at the center and, once synced, on the hub) and desk token.
	Enrol func(ctx context.Context, name string) (id, token string, err error)
	// Link is the center's uplink.
	Link *Link
	// OutageAfter and OutageFor place the outage in the work phase.
	OutageAfter, OutageFor time.Duration
	// Pending says how many records wait in the center's outbox.
	Pending func(ctx context.Context) (int, error)
	// OnHub says how many of the given answer ids the hub holds, and how
	// many answers the hub holds from the center's workers in all.
	OnHub func(ctx context.Context, ids []string) (found, fromCenter int, err error)
	// Every is which workers go to the center: every Every-th.
	Every int
}

// DefaultDemoOptions are the sizes `banyan demo` runs with.
func DefaultDemoOptions() DemoOptions {
	return DemoOptions{Seed: 1979, Posts: 600, Invoices: 240, Workers: 24, TimeScale: 4000}
}

// Summary is what the demo reports: how much work went through and how
// good the delivered results were against the known truth.
type Summary struct {
	URL              string  `json:"url,omitempty"`
	TasksTotal       int     `json:"tasks_total"`
	TasksDone        int     `json:"tasks_done"`
	Answers          int     `json:"answers"`
	AnswersPerTask   float64 `json:"answers_per_task"`
	Accuracy         float64 `json:"accuracy"`
	AnswersPerSecond float64 `json:"answers_per_second"`
	Reviewed         int     `json:"reviewed"`
	Workers          int     `json:"workers"`
	// WorkersSuspended counts workers suspended from a skill by their gold
	// and review record.
	WorkersSuspended int `json:"workers_suspended"`
	// FlaggedAnswers were faster than the project's floor and not counted.
	FlaggedAnswers int              `json:"flagged_answers"`
	WorkSeconds    float64          `json:"work_seconds"`
	Projects       []ProjectSummary `json:"projects"`
	// FixedOverlap is the same moderation posts run the core-loop way
	// (majority vote, fixed overlap 3) by the same crowd, for comparison;
	// it is not counted in the totals above.
	FixedOverlap               *ProjectSummary `json:"fixed_overlap,omitempty"`
	AccuracyFixedOverlap       float64         `json:"accuracy_fixed_overlap"`
	AnswersPerTaskFixedOverlap float64         `json:"answers_per_task_fixed_overlap"`
	// The village center: how many of its workers' answers were saved
	// while its uplink was down, and, counted against the record of every
	// answer its workers were told was saved, how many never reached the
	// hub and how many reached it more than once.
	CenterWorkers     int     `json:"center_workers,omitempty"`
	CenterAnswers     int     `json:"center_answers"`
	OfflineAnswers    int     `json:"offline_answers"`
	AnswersLost       int     `json:"answers_lost"`
	AnswersDuplicated int     `json:"answers_duplicated"`
	OutageSeconds     float64 `json:"outage_seconds,omitempty"`
	// Money is the ledger after the run: each total summed from its own
	// postings, whether they reconcile, and the chain's check.
	Money *Money `json:"money,omitempty"`
}

// Money is the ledger's state at the end of the demo.
type Money struct {
	ClientReceivable int64  `json:"client_receivable_paise"`
	WorkerPayable    int64  `json:"worker_payable_paise"`
	CenterShare      int64  `json:"center_share_paise"`
	HubRevenue       int64  `json:"hub_revenue_paise"`
	Reconciled       bool   `json:"reconciled"`
	LedgerBatches    int    `json:"ledger_batches"`
	LedgerHead       string `json:"ledger_head"`
	LedgerProblem    string `json:"ledger_problem,omitempty"`
}

// ProjectSummary is one project's part of the summary.
type ProjectSummary struct {
	Name           string  `json:"name"`
	Kind           string  `json:"kind"`
	Method         string  `json:"method"`
	Tasks          int     `json:"tasks"`
	Done           int     `json:"done"`
	Answers        int     `json:"answers"`
	AnswersPerTask float64 `json:"answers_per_task"`
	Reviewed       int     `json:"reviewed"`
	// GoldAnswers are the answers the project's gold tasks took, and
	// AnswersSpent every answer the project cost: its counted answers, the
	// too-fast ones, the gold answers and the reviews (audits and the
	// tasks the workers could not settle), which AnswersSpentPerTask
	// divides by its tasks. The two ways of running the same posts are
	// compared on it.
	GoldAnswers         int                `json:"gold_answers"`
	AnswersSpent        int                `json:"answers_spent"`
	AnswersSpentPerTask float64            `json:"answers_spent_per_task"`
	Accuracy            float64            `json:"accuracy"`
	FieldAccuracy       map[string]float64 `json:"field_accuracy,omitempty"`
	// EstimatedAccuracy is the hub's own estimate from its blind review
	// sample, to set beside Accuracy (measured against the truth).
	EstimatedAccuracy *Estimate `json:"estimated_accuracy,omitempty"`
	GoldPassRate      *Estimate `json:"gold_pass_rate,omitempty"`
}

// Estimate is an estimate with its 95 % interval, as the hub reports it.
type Estimate struct {
	Value  float64 `json:"value"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Sample int     `json:"sample"`
}

type demoProject struct {
	id, batchID string
	goldBatchID string
	compare     bool // the fixed-overlap comparison run
	flagged     int
	summary     ProjectSummary
}

type demo struct {
	// saved records every answer a center worker was told was saved, and
	// offline counts those saved while the center's link was down.
	savedMu sync.Mutex
	saved   []string
	offline int
	linkUp  atomic.Bool

	opt                    DemoOptions
	admin                  *Client
	client                 *Client
	posts, goldPosts       []Post
	invoices, goldInvoices []Invoice
	truePost               map[string]Post
	trueInvoice            map[string]Invoice
	projects               []*demoProject
}

// RunDemo plays the whole core loop against the hub at admin.BaseURL, using
// only its public API: a client with a moderation and an invoice-keying
// project, simulated workers until every task is settled, a reviewer for
// the tasks the workers could not agree on, and the results downloaded and
// scored against the truth. admin must carry a hub admin token.
func RunDemo(ctx context.Context, admin *Client, opt DemoOptions) (Summary, error) {
	d := &demo{opt: opt, admin: admin, truePost: map[string]Post{}, trueInvoice: map[string]Invoice{},
		posts: Posts(opt.Seed, opt.Posts), invoices: Invoices(opt.Seed, opt.Invoices)}
	// Gold sets: items of the same kind, made from another seed, about one
	// for every ten work items.
	d.goldPosts = Posts(opt.Seed+1, max(20, opt.Posts/10))
	for i := range d.goldPosts {
		d.goldPosts[i].ID = "G" + d.goldPosts[i].ID
	}
	d.goldInvoices = Invoices(opt.Seed+1, max(10, opt.Invoices/10))
	for i := range d.goldInvoices {
		d.goldInvoices[i].ID = "G" + d.goldInvoices[i].ID
	}
	for _, p := range append(slices.Clone(d.posts), d.goldPosts...) {
		d.truePost[p.ID] = p
	}
	for _, inv := range append(slices.Clone(d.invoices), d.goldInvoices...) {
		d.trueInvoice[inv.ID] = inv
	}
	if err := d.setUp(ctx); err != nil {
		return Summary{}, fmt.Errorf("demo: set up: %w", err)
	}
	workers, err := d.enrol(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: enrol workers: %w", err)
	}
	start := time.Now()
	if err := d.work(ctx, workers); err != nil {
		return Summary{}, fmt.Errorf("demo: work: %w", err)
	}
	elapsed := time.Since(start)
	reviewed, err := d.review(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: review: %w", err)
	}
	s := Summary{Workers: len(workers), Reviewed: reviewed, WorkSeconds: elapsed.Seconds()}
	correct := 0.0
	all := 0
	for _, p := range d.projects {
		if err := d.score(ctx, p); err != nil {
			return Summary{}, fmt.Errorf("demo: score %s: %w", p.summary.Name, err)
		}
		all += p.summary.Answers
		s.FlaggedAnswers += p.flagged
		if p.compare {
			ps := p.summary
			s.FixedOverlap = &ps
			s.AccuracyFixedOverlap = ps.Accuracy
			s.AnswersPerTaskFixedOverlap = ps.AnswersPerTask
			continue
		}
		s.Projects = append(s.Projects, p.summary)
		s.TasksTotal += p.summary.Tasks
		s.TasksDone += p.summary.Done
		s.Answers += p.summary.Answers
		correct += p.summary.Accuracy * float64(p.summary.Tasks)
	}
	if s.TasksTotal > 0 {
		s.Accuracy = correct / float64(s.TasksTotal)
		s.AnswersPerTask = float64(s.Answers) / float64(s.TasksTotal)
	}
	// Every counted answer of every project went through the API in the
	// work phase.
	s.AnswersPerSecond = float64(all) / elapsed.Seconds()
	if s.WorkersSuspended, err = d.suspended(ctx, workers); err != nil {
		return Summary{}, fmt.Errorf("demo: skills: %w", err)
	}
	if c := d.opt.Center; c != nil {
		for _, w := range workers {
			if w.atCenter {
				s.CenterWorkers++
			}
		}
		found, fromCenter, err := c.OnHub(ctx, d.saved)
		if err != nil {
			return Summary{}, fmt.Errorf("demo: check the center's answers: %w", err)
		}
		s.CenterAnswers, s.OfflineAnswers = len(d.saved), d.offline
		s.AnswersLost = len(d.saved) - found
		s.AnswersDuplicated = fromCenter - found
		s.OutageSeconds = c.OutageFor.Seconds()
	}
	var led struct {
		Verify struct {
			Batches int    `json:"batches"`
			Head    string `json:"head"`
			Problem string `json:"problem"`
		} `json:"verify"`
		Money Money `json:"money"`
	}
	if _, err := d.admin.Do(ctx, "GET", "/api/v1/ledger", nil, "", &led); err != nil {
		return Summary{}, fmt.Errorf("demo: ledger: %w", err)
	}
	m := led.Money
	m.LedgerBatches, m.LedgerHead, m.LedgerProblem = led.Verify.Batches, led.Verify.Head, led.Verify.Problem
	s.Money = &m
	return s, nil
}

func (d *demo) logf(format string, args ...any) {
	if d.opt.Progress != nil {
		fmt.Fprintf(d.opt.Progress, format+"\n", args...)
	}
}

// setUp makes the client, its admin, both projects and their batches.
func (d *demo) setUp(ctx context.Context) error {
	var client struct{ ID string }
	if _, err := d.admin.Do(ctx, "POST", "/api/v1/clients", map[string]string{"name": "Sample Retail Co."}, "", &client); err != nil {
		return err
	}
	var u struct{ ID string }
	if _, err := d.admin.Do(ctx, "POST", "/api/v1/orgs/"+client.ID+"/users", map[string]string{"name": "client-admin", "role": "client_admin"}, "", &u); err != nil {
		return err
	}
	var tok struct{ Token string }
	if _, err := d.admin.Do(ctx, "POST", "/api/v1/users/"+u.ID+"/tokens", map[string]string{"label": "demo"}, "", &tok); err != nil {
		return err
	}
	d.client = d.admin.With(tok.Token)

	fields := make([]map[string]any, 0, len(InvoiceFields))
	for _, f := range InvoiceFields {
		field := map[string]any{"name": f, "type": "number", "required": true}
		switch f {
		case "vendor_name", "invoice_number":
			field["type"] = "text"
		case "vendor_gstin":
			field["type"], field["pattern"] = "text", GSTINPattern
		case "invoice_date":
			field["type"] = "date"
		}
		fields = append(fields, field)
	}
	specs := []struct {
		project    map[string]any
		body, gold []byte
		ctype      string
		compare    bool
	}{
		{map[string]any{
			"name": "Community post moderation", "kind": "classify",
			"instructions": "Read the post. Choose the one label that fits best: ok, spam, abuse, violence or misinformation.",
			"schema":       map[string]any{"inputs": []string{"post_id", "text"}, "labels": ModerationLabels},
			"method":       "ds", "confidence_target": 0.99, "overlap": 2, "max_overlap": 5,
			"gold_ratio": 0.1, "min_accuracy": 0.6, "min_gold": 5, "min_answer_ms": 2000, "review_rate": 0.05,
		}, d.postsCSV(d.posts), d.postsCSV(d.goldPosts), "text/csv", false},
		{map[string]any{
			"name": "Supplier invoice keying", "kind": "extract",
			"instructions": "Key every field exactly as printed on the invoice. Dates as DD/MM/YYYY; amounts in rupees.",
			"schema":       map[string]any{"inputs": []string{"doc_id", "document"}, "fields": fields},
			"method":       "ds", "confidence_target": 0.95, "overlap": 2, "max_overlap": 4,
			"gold_ratio": 0.1, "min_accuracy": 0.6, "min_gold": 5, "min_answer_ms": 20000, "review_rate": 0.1,
		}, d.invoicesJSONL(d.invoices), d.invoicesJSONL(d.goldInvoices), "application/jsonl", false},
		{map[string]any{
			"name": "Community post moderation (fixed overlap)", "kind": "classify",
			"instructions": "Read the post. Choose the one label that fits best: ok, spam, abuse, violence or misinformation.",
			"schema":       map[string]any{"inputs": []string{"post_id", "text"}, "labels": ModerationLabels},
			"method":       "mv", "overlap": 3, "max_overlap": 5,
		}, d.postsCSV(d.posts), nil, "text/csv", true},
	}
	// The hub's prices, in paise: the client pays per delivered result, a
	// worker earns per approved answer, a village center its share of
	// each answer given there.
	rates := map[string]map[string]any{
		"classify": {"client_price": 200, "worker_pay": 40, "center_share": 5},
		"extract":  {"client_price": 1200, "worker_pay": 350, "center_share": 50},
	}
	for _, sp := range specs {
		var p struct{ ID, Name, Kind, Method string }
		if _, err := d.client.Do(ctx, "POST", "/api/v1/projects", sp.project, "", &p); err != nil {
			return err
		}
		if _, err := d.admin.Do(ctx, "PUT", "/api/v1/projects/"+p.ID+"/rates", rates[p.Kind], "", nil); err != nil {
			return err
		}
		gold := ""
		if sp.gold != nil {
			var g struct {
				ID    string
				Tasks int
			}
			if _, err := d.client.Do(ctx, "POST", "/api/v1/projects/"+p.ID+"/gold?name=demo-gold", sp.gold, sp.ctype, &g); err != nil {
				return err
			}
			gold = g.ID
			d.logf("project %q: gold set of %d tasks uploaded", p.Name, g.Tasks)
		}
		var b struct {
			ID    string
			Tasks int
		}
		if _, err := d.client.Do(ctx, "POST", "/api/v1/projects/"+p.ID+"/batches?name=demo", sp.body, sp.ctype, &b); err != nil {
			return err
		}
		d.logf("project %q (%s, %s): batch of %d tasks uploaded", p.Name, p.Kind, p.Method, b.Tasks)
		d.projects = append(d.projects, &demoProject{id: p.ID, batchID: b.ID, goldBatchID: gold, compare: sp.compare,
			summary: ProjectSummary{Name: p.Name, Kind: p.Kind, Method: p.Method, Tasks: b.Tasks}})
	}
	return nil
}

// postsCSV writes posts as a batch file; gold posts carry their label.
func (d *demo) postsCSV(posts []Post) []byte {
	gold := len(posts) > 0 && strings.HasPrefix(posts[0].ID, "G")
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"external_id", "post_id", "text"}
	if gold {
		header = append(header, "gold_label")
	}
	w.Write(header)
	for _, p := range posts {
		row := []string{p.ID, p.ID, p.Text}
		if gold {
			row = append(row, p.Label)
		}
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

// invoicesJSONL writes invoices as a batch file; gold invoices carry their
// fields.
func (d *demo) invoicesJSONL(invoices []Invoice) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, inv := range invoices {
		row := map[string]any{"external_id": inv.ID, "doc_id": inv.ID, "document": inv.Document}
		if strings.HasPrefix(inv.ID, "G") {
			row["gold_answer"] = map[string]any{"fields": inv.Fields}
		}
		enc.Encode(row)
	}
	return buf.Bytes()
}

type simWorker struct {
	Profile
	id       string // the same at a center and on the hub
	api      *Client
	rng      *rand.Rand
	atCenter bool
}

// suspended counts the workers suspended from any skill.
func (d *demo) suspended(ctx context.Context, workers []*simWorker) (int, error) {
	n := 0
	for _, w := range workers {
		var skills struct {
			Items []struct{ Status string }
		}
		if _, err := d.admin.Do(ctx, "GET", "/api/v1/users/"+w.id+"/skills", nil, "", &skills); err != nil {
			return 0, err
		}
		for _, k := range skills.Items {
			if k.Status == "suspended" {
				n++
				break
			}
		}
	}
	return n, nil
}

// enrol registers the simulated workers with the hub's built-in center and
// gives each a token.
func (d *demo) enrol(ctx context.Context) ([]*simWorker, error) {
	var centers struct {
		Items []struct{ ID, Name string }
	}
	if _, err := d.admin.Do(ctx, "GET", "/api/v1/centers", nil, "", &centers); err != nil {
		return nil, err
	}
	if len(centers.Items) == 0 {
		return nil, errors.New("the hub lists no center")
	}
	center := centers.Items[0].ID
	var out []*simWorker
	for i, p := range Crowd(d.opt.Seed, d.opt.Workers) {
		if c := d.opt.Center; c != nil && c.Every > 0 && i%c.Every == c.Every-1 {
			id, token, err := c.Enrol(ctx, p.Name)
			if err != nil {
				return nil, fmt.Errorf("enrol %s at the center: %w", p.Name, err)
			}
			w := &simWorker{Profile: p, id: id, api: &Client{BaseURL: c.URL, Token: token, HTTP: d.admin.HTTP},
				rng: rand.New(rand.NewPCG(d.opt.Seed, uint64(i))), atCenter: true}
			out = append(out, w)
			continue
		}
		var u struct{ ID string }
		if _, err := d.admin.Do(ctx, "POST", "/api/v1/orgs/"+center+"/users", map[string]string{"name": p.Name, "role": "worker"}, "", &u); err != nil {
			return nil, err
		}
		var tok struct{ Token string }
		if _, err := d.admin.Do(ctx, "POST", "/api/v1/users/"+u.ID+"/tokens", nil, "", &tok); err != nil {
			return nil, err
		}
		out = append(out, &simWorker{Profile: p, id: u.ID, api: d.admin.With(tok.Token), rng: rand.New(rand.NewPCG(d.opt.Seed, uint64(i)))})
	}
	d.logf("%d workers enrolled", len(out))
	return out, nil
}

// stallAfter is how long the demo waits for any task to settle before it
// gives up.
const stallAfter = 90 * time.Second

// work runs every worker until no task is open or in progress.
func (d *demo) work(ctx context.Context, workers []*simWorker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var finished atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, len(workers)+1)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.runWorker(ctx, w, &finished); err != nil {
				errc <- fmt.Errorf("%s: %w", w.Name, err)
				cancel()
			}
		}()
	}
	d.linkUp.Store(true)
	if c := d.opt.Center; c != nil && c.Link != nil && c.OutageFor > 0 {
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.OutageAfter):
			}
			d.logf("the village center's uplink goes down for %s", c.OutageFor)
			d.linkUp.Store(false)
			c.Link.Set(LinkConfig{Down: true})
			select {
			case <-ctx.Done():
			case <-time.After(c.OutageFor):
			}
			c.Link.Set(LinkConfig{})
			d.linkUp.Store(true)
			d.logf("the village center's uplink is back")
		}()
	}
	// Watch the batches as the client would, and tell the workers to go
	// home once nothing is left to do.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	lastDone, moved := -1, time.Now()
	for !finished.Load() {
		select {
		case <-ctx.Done():
			wg.Wait()
			select {
			case err := <-errc:
				return err
			default:
				return ctx.Err()
			}
		case <-tick.C:
		}
		pending, done, total := 0, 0, 0
		for _, p := range d.projects {
			var b struct {
				Tasks    int
				Progress struct {
					Open       int `json:"open"`
					InProgress int `json:"in_progress"`
					Done       int `json:"done"`
				}
			}
			if _, err := d.client.Do(ctx, "GET", "/api/v1/batches/"+p.batchID, nil, "", &b); err != nil {
				if ctx.Err() != nil {
					continue
				}
				return err
			}
			pending += b.Progress.Open + b.Progress.InProgress
			done += b.Progress.Done
			total += b.Tasks
		}
		if time.Since(last) > 2*time.Second {
			d.logf("%d of %d tasks done", done, total)
			last = time.Now()
		}
		// A run in which nothing settles for a long while is stuck (work
		// no one left can take): say so rather than wait for ever.
		if done != lastDone {
			lastDone, moved = done, time.Now()
		} else if time.Since(moved) > stallAfter {
			cancel()
			wg.Wait()
			return fmt.Errorf("no task settled for %s: %d of %d done, %d open or in progress", stallAfter, done, total, pending)
		}
		if pending == 0 && d.opt.Center != nil {
			// Tasks are settled; make sure nothing waits at the center.
			n, err := d.opt.Center.Pending(ctx)
			if err != nil {
				return err
			}
			pending += n
		}
		if pending == 0 {
			finished.Store(true)
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return nil
}

type offerResp struct {
	AssignmentID string `json:"assignment_id"`
	Task         struct {
		Payload map[string]string `json:"payload"`
	} `json:"task"`
	Project struct {
		Kind string `json:"kind"`
	} `json:"project"`
}

func (d *demo) runWorker(ctx context.Context, w *simWorker, finished *atomic.Bool) error {
	for !finished.Load() {
		var off offerResp
		status, err := w.api.Do(ctx, "POST", "/api/v1/work/next", nil, "", &off)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if status == http.StatusNoContent {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		invoice := off.Project.Kind == string(work.Extract)
		took := w.Duration(w.rng, invoice)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(float64(took) / d.opt.TimeScale)):
		}
		err = d.send(w, off, func(answer map[string]any) error {
			body := map[string]any{"answer": answer, "duration_ms": took.Milliseconds()}
			var reply struct{ Status string }
			_, err := w.api.Do(ctx, "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer", body, "", &reply)
			if err == nil && w.atCenter && reply.Status == "accepted" {
				// The center said "saved": this answer must reach the hub.
				d.savedMu.Lock()
				d.saved = append(d.saved, off.AssignmentID)
				if !d.linkUp.Load() {
					d.offline++
				}
				d.savedMu.Unlock()
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// send answers a task through post. A form that refuses a value (a GSTIN
// of the wrong shape, a date that does not exist) makes the worker look
// again at that field and key it carefully, as a person would.
func (d *demo) send(w *simWorker, off offerResp, post func(map[string]any) error) error {
	answer, err := d.answer(w, off)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		err := post(answer)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || try >= len(InvoiceFields) {
			return err
		}
		fields, ok := answer["fields"].(map[string]string)
		inv, known := d.trueInvoice[off.Task.Payload["doc_id"]]
		if !ok || !known || ae.Field == "" {
			return err
		}
		fields[ae.Field] = retype(w.rng, ae.Field, inv.Fields[ae.Field], w.DayFirst)
	}
}

// answer is what the worker answers, having read the task's input.
func (d *demo) answer(w *simWorker, off offerResp) (map[string]any, error) {
	if id, ok := off.Task.Payload["post_id"]; ok {
		post, ok := d.truePost[id]
		if !ok {
			return nil, fmt.Errorf("assignment %s shows an unknown post %q", off.AssignmentID, id)
		}
		return map[string]any{"label": w.Label(w.rng, post.Label)}, nil
	}
	id := off.Task.Payload["doc_id"]
	inv, ok := d.trueInvoice[id]
	if !ok {
		return nil, fmt.Errorf("assignment %s shows an unknown invoice %q", off.AssignmentID, id)
	}
	fields := map[string]string{}
	for _, f := range InvoiceFields {
		fields[f] = w.Key(w.rng, f, inv.Fields[f])
	}
	return map[string]any{"fields": fields}, nil
}

// review settles every task waiting for review (those the workers could not
// settle, and those sampled at the review rate), as an expert hub reviewer
// would: they read the item and are right about 99 % of the time. Their
// slips count against the hub's estimate of accuracy, as a real
// reviewer's would.
func (d *demo) review(ctx context.Context) (int, error) {
	var me struct {
		OrgID string `json:"org_id"`
	}
	if _, err := d.admin.Do(ctx, "GET", "/api/v1/me", nil, "", &me); err != nil {
		return 0, err
	}
	var u struct{ ID string }
	if _, err := d.admin.Do(ctx, "POST", "/api/v1/orgs/"+me.OrgID+"/users",
		map[string]string{"name": "demo-reviewer", "role": "reviewer"}, "", &u); err != nil {
		return 0, err
	}
	var tok struct{ Token string }
	if _, err := d.admin.Do(ctx, "POST", "/api/v1/users/"+u.ID+"/tokens", nil, "", &tok); err != nil {
		return 0, err
	}
	reviewer := d.admin.With(tok.Token)
	rng := rand.New(rand.NewPCG(d.opt.Seed, 0x726576))
	careful := Profile{Habit: Diligent, TypoRate: 0.001, DayFirst: true}
	careful.Confusion = confusion(rng, Diligent, 0.99)
	expert := &simWorker{Profile: careful, rng: rng}
	if err := d.qualifyReviewer(ctx, reviewer, expert); err != nil {
		return 0, fmt.Errorf("the reviewer's qualifications: %w", err)
	}
	total := 0
	for _, p := range d.projects {
		for {
			var queue struct {
				Items []struct {
					Task struct {
						ID      string            `json:"id"`
						Payload map[string]string `json:"payload"`
					} `json:"task"`
				} `json:"items"`
			}
			if _, err := reviewer.Do(ctx, "GET", "/api/v1/projects/"+p.id+"/review?limit=100", nil, "", &queue); err != nil {
				return total, err
			}
			if len(queue.Items) == 0 {
				break
			}
			for _, it := range queue.Items {
				var off offerResp
				off.AssignmentID, off.Task.Payload = "review of "+it.Task.ID, it.Task.Payload
				err := d.send(expert, off, func(answer map[string]any) error {
					_, err := reviewer.Do(ctx, "POST", "/api/v1/tasks/"+it.Task.ID+"/resolve", map[string]any{"answer": answer}, "", nil)
					return err
				})
				if err != nil {
					return total, err
				}
				p.summary.Reviewed++
				total++
			}
		}
	}
	if total > 0 {
		d.logf("%d tasks settled by review", total)
	}
	return total, nil
}

// qualifyReviewer has the reviewer pass a qualification in each project's
// skill, made of the project's gold items, before they review: the hub
// weighs a reviewer's audits by their record at the skill (see
// quality.AuditAccuracy), and a reviewer with none leaves every estimate
// wide. The qualifications are made once the work is done, so that they
// gate no worker of the demo.
func (d *demo) qualifyReviewer(ctx context.Context, reviewer *Client, expert *simWorker) error {
	type item struct {
		Payload map[string]string `json:"payload"`
		Answer  map[string]any    `json:"answer"`
	}
	for _, p := range d.projects {
		if p.compare {
			continue
		}
		var pr struct {
			Kind, Language string
			Schema         json.RawMessage
		}
		if _, err := d.admin.Do(ctx, "GET", "/api/v1/projects/"+p.id, nil, "", &pr); err != nil {
			return err
		}
		var items []item
		if pr.Kind == "classify" {
			for _, g := range d.goldPosts {
				items = append(items, item{map[string]string{"post_id": g.ID, "text": g.Text}, map[string]any{"label": g.Label}})
			}
		} else {
			for _, g := range d.goldInvoices {
				items = append(items, item{map[string]string{"doc_id": g.ID, "document": g.Document}, map[string]any{"fields": g.Fields}})
			}
		}
		var c struct{ ID string }
		if _, err := d.admin.Do(ctx, "POST", "/api/v1/courses", map[string]any{
			"name": "Reviewer qualification: " + p.summary.Name, "purpose": "qualification", "kind": pr.Kind, "language": pr.Language,
			"schema": pr.Schema, "pass_mark": 0.8, "cooldown_seconds": 3600, "items": items,
		}, "", &c); err != nil {
			return err
		}
		var at struct{ ID, State string }
		if _, err := reviewer.Do(ctx, "POST", "/api/v1/courses/"+c.ID+"/attempts", nil, "", &at); err != nil {
			return err
		}
		for {
			var next struct {
				Item struct {
					ID      string            `json:"id"`
					Payload map[string]string `json:"payload"`
				} `json:"item"`
			}
			status, err := reviewer.Do(ctx, "GET", "/api/v1/attempts/"+at.ID+"/next", nil, "", &next)
			if err != nil {
				return err
			}
			if status == http.StatusNoContent {
				break
			}
			var off offerResp
			off.AssignmentID, off.Task.Payload = "qualification item "+next.Item.ID, next.Item.Payload
			err = d.send(expert, off, func(answer map[string]any) error {
				var out struct {
					Attempt struct{ State string } `json:"attempt"`
				}
				_, err := reviewer.Do(ctx, "POST", "/api/v1/attempts/"+at.ID+"/answers", map[string]any{"item_id": next.Item.ID, "answer": answer}, "", &out)
				at.State = out.Attempt.State
				return err
			})
			if err != nil {
				return err
			}
		}
		if at.State != "passed" {
			return fmt.Errorf("the reviewer's qualification in %q ended %q", p.summary.Name, at.State)
		}
	}
	return nil
}

// score downloads the project's results and compares them with the truth.
func (d *demo) score(ctx context.Context, p *demoProject) error {
	var b struct {
		Progress struct {
			Done    int `json:"done"`
			Answers int `json:"answers"`
		}
	}
	if _, err := d.client.Do(ctx, "GET", "/api/v1/batches/"+p.batchID, nil, "", &b); err != nil {
		return err
	}
	p.summary.Done, p.summary.Answers = b.Progress.Done, b.Progress.Answers
	if p.summary.Tasks > 0 {
		p.summary.AnswersPerTask = float64(p.summary.Answers) / float64(p.summary.Tasks)
	}
	var rep struct {
		EstimatedAccuracy *Estimate `json:"estimated_accuracy"`
		GoldPassRate      *Estimate `json:"gold_pass_rate"`
		FlaggedAnswers    int       `json:"flagged_answers"`
	}
	if _, err := d.client.Do(ctx, "GET", "/api/v1/batches/"+p.batchID+"/quality", nil, "", &rep); err != nil {
		return err
	}
	p.summary.EstimatedAccuracy, p.summary.GoldPassRate, p.flagged = rep.EstimatedAccuracy, rep.GoldPassRate, rep.FlaggedAnswers
	if p.goldBatchID != "" {
		var g struct {
			Progress struct {
				Answers int `json:"answers"`
			}
		}
		if _, err := d.client.Do(ctx, "GET", "/api/v1/batches/"+p.goldBatchID, nil, "", &g); err != nil {
			return err
		}
		p.summary.GoldAnswers = g.Progress.Answers
	}
	p.summary.AnswersSpent = p.summary.Answers + p.flagged + p.summary.GoldAnswers + p.summary.Reviewed
	if p.summary.Tasks > 0 {
		p.summary.AnswersSpentPerTask = float64(p.summary.AnswersSpent) / float64(p.summary.Tasks)
	}
	var raw []byte
	if _, err := d.client.Do(ctx, "GET", "/api/v1/batches/"+p.batchID+"/results?format=jsonl", nil, "", &raw); err != nil {
		return err
	}
	correct := 0
	fieldRight := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var r struct {
			ExternalID string      `json:"external_id"`
			Answer     work.Answer `json:"answer"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		n++
		if post, ok := d.truePost[r.ExternalID]; ok {
			if r.Answer.Label == post.Label {
				correct++
			}
			continue
		}
		inv, ok := d.trueInvoice[r.ExternalID]
		if !ok {
			return fmt.Errorf("result for unknown item %q", r.ExternalID)
		}
		all := true
		for _, f := range InvoiceFields {
			if work.Fold(r.Answer.Fields[f]) == work.Fold(inv.Fields[f]) {
				fieldRight[f]++
			} else {
				all = false
			}
		}
		if all {
			correct++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if n != p.summary.Done {
		return fmt.Errorf("downloaded %d results, but the batch reports %d tasks done", n, p.summary.Done)
	}
	if p.summary.Tasks > 0 {
		// Tasks without a result count as wrong.
		p.summary.Accuracy = float64(correct) / float64(p.summary.Tasks)
	}
	if len(fieldRight) > 0 {
		p.summary.FieldAccuracy = map[string]float64{}
		for _, f := range InvoiceFields {
			p.summary.FieldAccuracy[f] = float64(fieldRight[f]) / float64(p.summary.Tasks)
		}
	}
	return nil
}

// Describe writes the summary for people.
func (s Summary) Describe(w io.Writer) {
	fmt.Fprintf(w, "\nBanyan demo: %d tasks, %d done (%d settled by review), %d answers from %d simulated workers\n",
		s.TasksTotal, s.TasksDone, s.Reviewed, s.Answers, s.Workers)
	line := func(p ProjectSummary) {
		fmt.Fprintf(w, "  %-42s %-8s %-3s %4d tasks %5d answers (%.2f per task)  accuracy %.3f",
			p.Name, p.Kind, p.Method, p.Tasks, p.Answers, p.AnswersPerTask, p.Accuracy)
		if e := p.EstimatedAccuracy; e != nil {
			fmt.Fprintf(w, " (hub's estimate %.3f, 95%% %.3f–%.3f, from %d reviewed)", e.Value, e.Low, e.High, e.Sample)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "      spent %d answers in all, %.2f per task: %d counted, %d too fast, %d on gold, %d reviews\n",
			p.AnswersSpent, p.AnswersSpentPerTask, p.Answers, p.AnswersSpent-p.Answers-p.GoldAnswers-p.Reviewed, p.GoldAnswers, p.Reviewed)
		if len(p.FieldAccuracy) > 0 {
			var parts []string
			for _, f := range InvoiceFields {
				if a, ok := p.FieldAccuracy[f]; ok {
					parts = append(parts, fmt.Sprintf("%s %.3f", f, a))
				}
			}
			fmt.Fprintf(w, "      per field: %s\n", strings.Join(parts, ", "))
		}
	}
	for _, p := range s.Projects {
		line(p)
	}
	if s.FixedOverlap != nil {
		fmt.Fprintln(w, "  for comparison, the same posts at a fixed overlap of 3 by majority vote:")
		line(*s.FixedOverlap)
	}
	fmt.Fprintf(w, "  overall accuracy %.3f at %.2f answers per task; %d workers suspended by their gold record; %d answers flagged too fast\n",
		s.Accuracy, s.AnswersPerTask, s.WorkersSuspended, s.FlaggedAnswers)
	if s.CenterWorkers > 0 {
		fmt.Fprintf(w, "  village center: %d workers, %d answers saved there (%d while its uplink was down for %.0f s); lost %d, duplicated %d\n",
			s.CenterWorkers, s.CenterAnswers, s.OfflineAnswers, s.OutageSeconds, s.AnswersLost, s.AnswersDuplicated)
	}
	fmt.Fprintf(w, "  %.0f answers/s over %.1f s of work\n", s.AnswersPerSecond, s.WorkSeconds)
}
