// Package center is the composition root of a village center: its own
// SQLite store and the local store on it (Local: the tasks the center
// leased, its workers' work on them, their saved answers, reviews and
// people), the worker API it serves on the center's LAN, and the uplink
// syncer that moves records up and leases down whenever the link allows.
// Workers keep working while the uplink is down; an answer a worker was
// told is saved is in the center's database, with its outbox record,
// before the reply goes out.
package center

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"banyan/internal/api"
	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/web"
	"banyan/internal/work"
)

// Config is everything a center is started with.
type Config struct {
	// HubURL and Token reach the hub (banyan admin center add prints the
	// token).
	HubURL string `json:"hub"`
	Token  string `json:"token"`
	// Addr is where the worker API listens on the center's LAN.
	Addr    string `json:"addr"`
	DataDir string `json:"data"`
	// SyncInterval is how often the center syncs while the link is up.
	SyncInterval time.Duration `json:"sync_interval"`
	// Horizon is how much work, by each active worker's own pace, the
	// center keeps leased to work through an outage; Ahead caps it in
	// tasks per worker.
	Horizon time.Duration `json:"horizon"`
	Ahead   int           `json:"ahead"`
	// Hold is how long a worker holds one task before it goes back to the
	// center's pool.
	Hold time.Duration `json:"hold"`
	// CacheMB caps the attachments kept on disk, in MiB.
	CacheMB int64 `json:"cache_mb"`
	// KeyFile names the database key (see LoadKey); empty leaves the
	// database unencrypted. Key is the key itself, once loaded.
	KeyFile string `json:"db_key_file"`
	Key     []byte `json:"-"`
	Version string `json:"-"`
	// Now is the center's clock; nil means time.Now. Wall clocks at
	// centers are often wrong by days, and nothing may depend on them
	// agreeing with the hub's.
	Now func() time.Time `json:"-"`
	// WorkTimeScale multiplies measured working time; simulations only
	// (see Local.WorkTimeScale).
	WorkTimeScale float64 `json:"-"`
}

// DefaultConfig returns a center's defaults.
func DefaultConfig() Config {
	return Config{Addr: "0.0.0.0:8090", DataDir: "banyan-center", SyncInterval: 30 * time.Second, Horizon: 12 * time.Hour, Ahead: 400, Hold: defaultHold,
		CacheMB: 2048}
}

// Validate names the first field that is wrong.
func (c Config) Validate() error {
	switch {
	case !strings.HasPrefix(c.HubURL, "http://") && !strings.HasPrefix(c.HubURL, "https://"):
		return fmt.Errorf("config: hub: want the hub's URL, e.g. https://hub.example.org")
	case !strings.HasPrefix(c.Token, "bny_"):
		return fmt.Errorf("config: token: want the center token printed by 'banyan admin center add'")
	case strings.TrimSpace(c.DataDir) == "":
		return fmt.Errorf("config: data: must name a directory")
	case c.SyncInterval < 100*time.Millisecond:
		return fmt.Errorf("config: sync-interval: at least 100ms")
	case c.Ahead < 1 || c.Ahead > 10_000:
		return fmt.Errorf("config: ahead: from 1 to 10000 tasks per worker")
	case c.Horizon < time.Minute:
		return fmt.Errorf("config: horizon: at least 1m of work per worker")
	case c.Hold < 10*time.Second:
		return fmt.Errorf("config: hold: at least 10s")
	case c.CacheMB < 16:
		return fmt.Errorf("config: cache-mb: at least 16 (MiB of attachments)")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config: addr %q: want host:port", c.Addr)
	}
	return nil
}

// Center is a running center's parts.
type Center struct {
	Config Config
	Store  *store.Store
	// Local is the center's local store: leased tasks and the work on
	// them.
	Local *Local
	Auth  *auth.Service
	Sync  *uplink.Syncer
	Log   *slog.Logger
	// Blobs keeps the attachments of leased tasks.
	Blobs *blob.Store
	ID    string
	nudge chan struct{}
}

// Open opens the center's database and learns its identity from the hub.
// The first start needs the hub; later starts work offline.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Center, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("center: data directory: %w", err)
	}
	if cfg.KeyFile != "" && cfg.Key == nil {
		key, err := LoadKey(cfg, os.Stdin)
		if err != nil {
			return nil, err
		}
		cfg.Key = key
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "center.db"), store.Options{Migrate: true, Now: cfg.Now, Outbox: uplink.AppendOutbox, Key: cfg.Key})
	if err != nil {
		return nil, err
	}

	client := &uplink.Client{BaseURL: strings.TrimSuffix(cfg.HubURL, "/"), Token: cfg.Token, Version: cfg.Version,
		HTTP: &http.Client{Timeout: 2 * time.Minute}}
	// With a database key, the attachments are encrypted at rest too.
	openBlobs := blob.Open
	if cfg.Key != nil {
		openBlobs = func(dir string) (*blob.Store, error) { return blob.OpenEncrypted(dir, cfg.Key) }
	}
	blobs, err := openBlobs(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	c := &Center{Config: cfg, Store: st, Auth: &auth.Service{Store: st}, Log: log, Blobs: blobs, nudge: make(chan struct{}, 1)}
	c.Local = &Local{Store: st, WorkTimeScale: cfg.WorkTimeScale, Feed: feedKinds(), Hold: cfg.Hold, Nudge: c.Nudge}
	c.Sync = &uplink.Syncer{Local: c.Local, Outbox: &uplink.Outbox{Store: st}, Client: client, Log: log, Want: c.want, Blobs: blobs, CacheBytes: cfg.CacheMB << 20}
	orgs, err := c.Auth.Orgs(ctx, auth.OrgCenter, store.Page{Limit: 10})
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, o := range orgs {
		if o.ID != auth.BuiltinCenterOrgID {
			c.ID = o.ID
		}
	}
	if c.ID == "" {
		hello, err := client.Hello(ctx, 0)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("center: the first start needs the hub, to learn who this center is: %w", err)
		}
		if err := c.Auth.EnsureCenterOrg(ctx, hello.CenterID, hello.CenterName); err != nil {
			st.Close()
			return nil, err
		}
		c.ID = hello.CenterID
	}
	return c, nil
}

// Close closes the database.
func (c *Center) Close() error { return c.Store.Close() }

// ActiveWindow is how recently a worker must have enrolled, answered or
// trained to count when the center sizes its leases.
const ActiveWindow = 14 * 24 * time.Hour

// defaultAnswerTime is the pace assumed of a worker with no answers yet.
const defaultAnswerTime = 2 * time.Minute

// want sizes the center's leases to its active workers' pace and skills:
// each worker gets Horizon of work at their median answer time, at most
// Ahead tasks, and skills none of them may do are left out.
func (c *Center) want(ctx context.Context) (uplink.Demand, error) {
	now := c.Store.Now()
	pace, err := dispatch.CenterPace(ctx, c.Store, now.Add(-ActiveWindow))
	if err != nil {
		return uplink.Demand{}, err
	}
	var d uplink.Demand
	ids := make([]string, len(pace))
	for i, p := range pace {
		ids[i] = p.WorkerID
		per := defaultAnswerTime
		if p.Answers >= 5 {
			per = max(time.Duration(p.MedianMS)*time.Millisecond, 5*time.Second)
		}
		d.Tasks += min(c.Config.Ahead, int((c.Config.Horizon+per-1)/per))
	}
	if len(ids) == 0 {
		return d, nil
	}
	d.Exclude, err = dispatch.CenterClosedSkills(ctx, c.Store, ids)
	return d, err
}

// Nudge asks the syncer to run now (after a save, say) rather than at its
// next tick.
func (c *Center) Nudge() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// EnrolWorker enrols a worker at the center and returns a token for the
// worker's desk. The enrolment, and an audit event for it, go up to the
// hub with the next sync.
func (c *Center) EnrolWorker(ctx context.Context, name string) (auth.User, string, error) {
	return c.AddPerson(ctx, name, auth.Worker)
}

// AddPerson adds a worker, reviewer or center manager at the center and
// returns a token for them. They are enrolled at the hub through the
// outbox, so what they do there (answers, reviews) is theirs on the hub.
func (c *Center) AddPerson(ctx context.Context, name string, role auth.Role) (auth.User, string, error) {
	if role != auth.Worker && role != auth.Reviewer && role != auth.CenterManager {
		return auth.User{}, "", fmt.Errorf("center: role %q: a center adds workers, reviewers and center managers", role)
	}
	u, err := c.Auth.EnrolAtCenter(ctx, c.ID, name, string(role))
	if err != nil {
		return auth.User{}, "", err
	}
	secret, tok, err := c.Auth.Issue(ctx, u, "center desk")
	if err != nil {
		return auth.User{}, "", err
	}
	if _, err := audit.Log(ctx, c.Store, c.ID, audit.Record{Actor: "center", Action: "user.added", Subject: u.ID,
		Detail: "role " + string(role) + ", token " + tok.ID}); err != nil {
		return auth.User{}, "", err
	}
	return u, secret, nil
}

// feedKinds is how the center keeps each kind of event on its down feed:
// skills (forgotten before a snapshot brings them all again), project
// changes, courses, the hub's verdicts on qualifications, wage warnings,
// workers' statements (forgotten before a snapshot too), recalled leases,
// and the audits the hub sends its reviewers and takes back (those not
// answered are forgotten before a snapshot).
func feedKinds() feed.Kinds {
	return feed.Kinds{
		{Name: "skill", Clear: training.ClearSkills, Apply: feed.ApplyOf(training.ApplySkill)},
		{Name: "project", Apply: feed.ApplyOf(applyProject)},
		{Name: "course", Apply: feed.ApplyOf(training.ApplyCourse)},
		{Name: "attempt", Apply: feed.ApplyOf(training.ApplyAttempt)},
		{Name: "wage", Apply: feed.ApplyOf(ledger.ApplyWage)},
		{Name: "statement", Clear: ledger.ClearStatements, Apply: feed.ApplyOf(ledger.ApplyStatement)},
		{Name: "recall", Apply: feed.ApplyOf(applyRecall)},
		{Name: dispatch.FeedKindAuditTask, Clear: clearAudits, Apply: feed.ApplyOf(applyAuditTask)},
		{Name: dispatch.FeedKindAuditRecall, Apply: feed.ApplyOf(applyAuditRecall)},
	}
}

// Handler is the center's LAN surface: the worker API (the same calls as
// the hub's, lanRoutes), the center's status and reviews, and the pages.
func (c *Center) Handler() http.Handler {
	mux := http.NewServeMux()
	a := c.lanAPI()
	viaAPI, own := c.lanRoutes(a)
	a.Mount(mux, viaAPI)
	for _, rt := range own {
		mux.Handle(rt.Pattern, c.wrap(rt))
	}
	(&web.Web{Store: c.Store, Auth: c.Auth, Desk: desk{c.Local}, Blobs: c.Blobs, Log: c.Log, Place: "center",
		AnswerItem: training.CenterAnswerItem, Office: office{c}}).Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// lanAPI is the hub's API over the center's store: workers take tasks
// from, and answer to, the center's local store (its Desk), and a course
// answer goes up to the hub.
func (c *Center) lanAPI() *api.API {
	return &api.API{Store: c.Store, Auth: c.Auth, Desk: c.Local, Blobs: c.Blobs, Log: c.Log, AnswerItem: training.CenterAnswerItem}
}

// wrap serves a route the center answers with a handler of its own: the
// caller's token is checked, unless the route is public, and an error
// becomes a problem.
func (c *Center) wrap(rt api.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		var err error
		if !rt.Public {
			secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			p, err = c.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
		}
		if err == nil {
			err = rt.Handle(w, r, p)
		}
		if err != nil {
			problem.Write(w, c.Log, r, err)
		}
	})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

func (c *Center) status(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.CenterManager && p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "the center's status is for its people")
	}
	q, err := c.Local.Queue(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, Status{CenterID: c.ID, Queue: q, Uplink: c.Sync.State()})
}

func canReview(p auth.Principal) bool {
	return p.Role == auth.Reviewer || p.Role == auth.CenterManager
}

// reviewNext shows a center reviewer what to check next: first a task the
// hub sent for a blind audit (the item, not the answers), then a saved
// answer of another worker (maker-checker).
func (c *Center) reviewNext(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !canReview(p) {
		return problem.New(http.StatusForbidden, "reviews are for the center's reviewers and managers")
	}
	if p.Role == auth.Reviewer {
		a, err := c.Local.AuditNext(r.Context(), p.UserID)
		if err == nil {
			return writeJSON(w, ReviewItem{Kind: ReviewAudit, AuditID: a.AuditID, Payload: a.Payload, Project: taskProject(a.Project)})
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	it, err := c.Local.ReviewNext(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	return writeJSON(w, ReviewItem{Kind: ReviewAnswer, AssignmentID: it.AssignmentID, Payload: it.Payload, Answer: &it.Answer, Project: taskProject(it.Project)})
}

// taskProject is what a reviewer is shown of a project.
func taskProject(p wire.Project) api.TaskProject {
	return api.TaskProject{ID: p.ID, Kind: p.Kind, Instructions: p.Instructions, Schema: p.Schema}
}

// decodeBody reads a reviewer's JSON request body into v strictly: at most
// 1 MiB, no field v does not have.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.New(http.StatusBadRequest, "the request body is not valid JSON for this call: %v", err)
	}
	return nil
}

// audit records a center reviewer's verdict on a task the hub sent for a
// blind audit, to go up to the hub, where it settles the task.
func (c *Center) audit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Reviewer {
		return problem.New(http.StatusForbidden, "the hub's audits are for the center's reviewers")
	}
	var in AuditIn
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if len(in.Answer) == 0 || string(in.Answer) == "null" {
		return problem.New(http.StatusUnprocessableEntity, "answer: required, the answer you find right for the task")
	}
	id, err := c.Local.AuditVerdict(r.Context(), r.PathValue("id"), p.UserID, in.Answer)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "no audit %q at this center", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	c.Nudge()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(api.Created{ID: id})
}

// review records a reviewer's verdict on an answer, to go up to the hub.
func (c *Center) review(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !canReview(p) {
		return problem.New(http.StatusForbidden, "reviews are for the center's reviewers and managers")
	}
	var in ReviewIn
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := work.CheckReview(in.Verdict, in.Note); err != nil {
		return problem.New(http.StatusUnprocessableEntity, "%v", err)
	}
	proj, err := c.Local.SavedWorkProject(r.Context(), in.AssignmentID, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "no saved answer %q of another worker here", in.AssignmentID)
	}
	if err != nil {
		return err
	}
	rec := review.ReviewRecord{AssignmentID: in.AssignmentID, ReviewerID: p.UserID, Verdict: in.Verdict, Note: in.Note}
	if len(in.Answer) > 0 && string(in.Answer) != "null" {
		if in.Verdict == work.VerdictAgree {
			return problem.New(http.StatusUnprocessableEntity, "answer: give a corrected answer only when you disagree")
		}
		ans, err := work.ParseAnswer(proj.Kind, proj.Schema, in.Answer)
		if err != nil {
			return err
		}
		rec.Answer = &ans
	}
	id, err := review.RecordReview(r.Context(), c.Store, rec)
	if err != nil {
		return err
	}
	c.Nudge()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(api.Created{ID: id})
}

// Serve serves the worker API on ln and syncs with the hub until ctx ends.
func (c *Center) Serve(ctx context.Context, ln net.Listener) error {
	// Offers in workers' hands count their time from now: the time the
	// center was down was not work. (Only when it starts serving: the CLI
	// opens a running center's database to add people, and must not.)
	if err := c.Local.RestartWorkClocks(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go c.Sync.Run(ctx, c.Config.SyncInterval, c.nudge)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
