// Package hub is the composition root of the hub: it builds the store, the
// auth, dispatch and API services from one Config, and serves them over
// HTTP with sane timeouts and a graceful shutdown.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"banyan/internal/api"
	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/ingest"
	"banyan/internal/ledger"
	"banyan/internal/metrics"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/web"
	"banyan/internal/webhook"
	"banyan/internal/work"
)

// Config is everything a hub is started with. Defaults lives in one place:
// DefaultConfig.
type Config struct {
	// Addr is the address the HTTP server listens on.
	Addr string `json:"addr"`
	// DataDir holds the SQLite database (unless DB names another) and
	// spooled uploads.
	DataDir string `json:"data"`
	// Blobs is where task attachments are kept; empty means
	// DataDir/blobs. Several hubs on one database need one shared
	// directory (a network filesystem), since a file uploaded through one
	// hub is fetched through any.
	Blobs string `json:"blobs"`
	// DB is a SQLite file path or a postgres:// URL; empty means
	// DataDir/banyan.db. Several hub processes may share one PostgreSQL
	// database.
	DB string `json:"db"`
	// MinWage is the minimum wage in paise per hour of active task time:
	// a worker's statement under it is marked, and the staff's page lists
	// them. 0 turns the check off.
	MinWage int64 `json:"min_wage"`
	// TrainingRate is the pay for an hour of accepted training time, in
	// paise (0: unpaid).
	TrainingRate int64 `json:"training_rate"`
	// DailyTimeCap caps a worker's active time in one UTC day — measured
	// task time and accepted spans together — with a declared span in it:
	// a span that would take the day past it is refused.
	DailyTimeCap time.Duration `json:"daily_time_cap"`
	// CenterClockSkew is how far past the hub's clock a span or course
	// session from a village center may reach, once the center's times are
	// put on the hub's clock by the difference its upload states.
	CenterClockSkew time.Duration `json:"center_clock_skew"`
	// TokenRate caps the API calls a second of one token (bursts of
	// twice that); 0 means 200.
	TokenRate float64 `json:"token_rate"`
	// AllowPrivateWebhooks lets webhooks target special-purpose addresses
	// (private, loopback, shared, link-local … every range of the IANA
	// special-purpose registries; a test rig, or a hub whose clients are on
	// its own network). Off by default: no SSRF.
	AllowPrivateWebhooks bool `json:"allow_private_webhooks"`
	// DBConns caps this hub's connections to PostgreSQL. Hubs sharing a
	// database share its server's cores: the total across them, not each
	// hub's, is what to size (on the 2-core test machine about 32 in all
	// did best). 0 means store.DefaultPostgresConns.
	DBConns int `json:"db_conns"`
	// NoMigrate refuses to start with pending migrations instead of
	// applying them.
	NoMigrate bool `json:"no_migrate"`
	// MaxUploadBytes caps one batch upload.
	MaxUploadBytes int64 `json:"max_upload_bytes"`
	// MaxRowBytes caps one row of a batch file.
	MaxRowBytes int `json:"max_row_bytes"`
	// ShutdownTimeout is how long in-flight requests get to finish.
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	// RefitInterval is how often projects settled by method ds are
	// re-fitted with Dawid–Skene; 0 turns the job off.
	RefitInterval time.Duration `json:"refit_interval"`
	// LeaseTTL is how long a center holds a leased task without a
	// heartbeat, sized for outages of hours to days; LeaseGrace is how much
	// longer the hub waits before handing the task to someone else.
	LeaseTTL   time.Duration `json:"lease_ttl"`
	LeaseGrace time.Duration `json:"lease_grace"`
	// RecallMargin and RecallSilence guard batch deadlines: once a batch's
	// deadline is less than RecallMargin away, leases of it held by a
	// center silent for longer than RecallSilence are recalled, so the
	// tasks can be done elsewhere in time. A zero margin turns it off.
	RecallMargin  time.Duration `json:"recall_margin"`
	RecallSilence time.Duration `json:"recall_silence"`
	// AuditTimeout is how long a village center's reviewers have to give
	// their verdict on a task the hub sent them to audit blind before the
	// hub takes it back into its own review queue.
	AuditTimeout time.Duration `json:"audit_timeout"`
	// StatementInterval is how often at most a village center's worker's
	// earnings statement goes down the center's feed while their pay,
	// answers or training change (see ledger.SendStatements).
	StatementInterval time.Duration `json:"statement_interval"`
	// UndatedDue and PriorityStep date batches for the order work is
	// handed out and leased in, earliest effective due first: a batch
	// without a deadline counts as due UndatedDue after its upload, and
	// each step of its project's priority moves it PriorityStep earlier
	// (see project.DueRule). Hubs sharing a database should be given the
	// same; the one that started serving last dates the batches.
	UndatedDue   time.Duration `json:"undated_due"`
	PriorityStep time.Duration `json:"priority_step"`
	// Version is the build's version, told to centers.
	Version string `json:"-"`
	// WorkTimeScale multiplies measured working time; simulations only
	// (see dispatch.Service.WorkTimeScale), so it has no flag.
	WorkTimeScale float64 `json:"-"`
	// Now is the clock the hub's store keeps time by (offers, answers,
	// spans, money); nil means time.Now. Tests set it.
	Now func() time.Time `json:"-"`
}

// DefaultConfig returns the configuration a hub has when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DataDir:           "banyan-data",
		MaxUploadBytes:    512 << 20,
		MaxRowBytes:       64 << 10,
		ShutdownTimeout:   20 * time.Second,
		RefitInterval:     5 * time.Minute,
		LeaseTTL:          72 * time.Hour,
		LeaseGrace:        time.Hour,
		RecallMargin:      12 * time.Hour,
		RecallSilence:     2 * time.Hour,
		AuditTimeout:      dispatch.DefaultAuditTimeout,
		StatementInterval: 15 * time.Minute,
		UndatedDue:        project.DefaultDueRule.Undated,
		PriorityStep:      project.DefaultDueRule.PriorityStep,
		MinWage:           5000,
		TrainingRate:      5000,
		DailyTimeCap:      work.DefaultDailyCap,
		CenterClockSkew:   5 * time.Minute,
	}
}

// DBPath is the database the hub uses.
func (c Config) DBPath() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "banyan.db")
}

// Validate checks every field and names the first one that is wrong.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config: addr %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return fmt.Errorf("config: data: must name a directory")
	}
	if c.MaxUploadBytes < 1<<10 {
		return fmt.Errorf("config: max-upload-bytes: must be at least 1024")
	}
	if c.MaxRowBytes < 256 || int64(c.MaxRowBytes) > c.MaxUploadBytes {
		return fmt.Errorf("config: max-row-bytes: must be from 256 to max-upload-bytes")
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("config: shutdown-timeout: must not be negative")
	}
	if c.TrainingRate < 0 {
		return fmt.Errorf("config: training-rate: paise per hour of training, 0 (unpaid) or more")
	}
	if c.DailyTimeCap < time.Hour || c.DailyTimeCap > 24*time.Hour {
		return fmt.Errorf("config: daily-time-cap: from 1h to 24h of active time a day (10h is the default)")
	}
	if c.CenterClockSkew < 0 || c.CenterClockSkew > time.Hour {
		return fmt.Errorf("config: center-clock-skew: from 0 to 1h (centers' clocks are put on the hub's first; 5m is the default)")
	}
	if c.TokenRate < 0 {
		return fmt.Errorf("config: token-rate: calls a second, 0 (the default) or more")
	}
	if c.MinWage < 0 {
		return fmt.Errorf("config: min-wage: paise per hour of active task time, 0 (off) or more")
	}
	if c.RefitInterval < 0 || (c.RefitInterval > 0 && c.RefitInterval < time.Second) {
		return fmt.Errorf("config: refit-interval: 0 (off) or at least 1s")
	}
	if c.LeaseTTL < time.Minute {
		return fmt.Errorf("config: lease-ttl: at least 1m (centers hold leases through outages; 72h is the default)")
	}
	if c.LeaseGrace < 0 {
		return fmt.Errorf("config: lease-grace: must not be negative")
	}
	if c.RecallMargin < 0 {
		return fmt.Errorf("config: recall-margin: must not be negative (0 turns deadline recalls off)")
	}
	if c.RecallMargin > 0 && c.RecallSilence < time.Minute {
		return fmt.Errorf("config: recall-silence: at least 1m (a center this quiet loses its leases of batches near their deadline)")
	}
	if c.AuditTimeout < time.Minute {
		return fmt.Errorf("config: audit-timeout: at least 1m (a village center's reviewers have this long for a blind audit; 48h is the default)")
	}
	if c.StatementInterval < time.Minute || c.StatementInterval > 24*time.Hour {
		return fmt.Errorf("config: statement-interval: from 1m to 24h between a worker's statements sent to their center (15m is the default)")
	}
	if c.UndatedDue < time.Hour || c.UndatedDue > 365*24*time.Hour {
		return fmt.Errorf("config: undated-due: from 1h to 8760h (a batch without a deadline counts as due this long after its upload; 168h is the default)")
	}
	if c.PriorityStep < 0 || c.PriorityStep > 30*24*time.Hour {
		return fmt.Errorf("config: priority-step: from 0 (priority ignored) to 720h (how much earlier each step of a project's priority makes its batches due; 24h is the default)")
	}
	return nil
}

// Hub is a running hub's parts.
type Hub struct {
	Config   Config
	Store    *store.Store
	Auth     *auth.Service
	Dispatch *dispatch.Service
	Log      *slog.Logger
	// Blobs keeps the files tasks name, under DataDir/blobs.
	Blobs *blob.Store
	// Metrics is what /metrics shows.
	Metrics *metrics.Registry
	spool   string
	refits  *atomic.Int64
	// hookClient sends webhook deliveries.
	hookClient *http.Client
	// hooks keeps clients' webhook subscriptions and queues their events;
	// the store tells it of each as it happens.
	hooks *webhook.Queue
	// id names this hub process among those sharing the database; live
	// is how many of them were alive at the last heartbeat (see Beat).
	id   string
	live atomic.Int64

	metricsOnce sync.Once
}

// Open validates cfg, makes the data directory and opens the database,
// applying pending migrations unless cfg.NoMigrate.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spool := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spool, 0o750); err != nil {
		return nil, fmt.Errorf("hub: data directory: %w", err)
	}
	blobDir := cfg.Blobs
	if blobDir == "" {
		blobDir = filepath.Join(cfg.DataDir, "blobs")
	}
	blobs, err := blob.Open(blobDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Migrate: !cfg.NoMigrate, MaxConns: cfg.DBConns, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	hooks := &webhook.Queue{Store: st}
	st.SetNotifier(hooks)
	return &Hub{
		Config:     cfg,
		Store:      st,
		Auth:       &auth.Service{Store: st},
		Dispatch:   &dispatch.Service{Store: st, LeaseGrace: cfg.LeaseGrace, AuditTimeout: cfg.AuditTimeout, WorkTimeScale: cfg.WorkTimeScale, Projects: &project.Cache{Store: st}},
		Log:        log,
		Blobs:      blobs,
		spool:      spool,
		hookClient: webhook.Client(cfg.AllowPrivateWebhooks),
		hooks:      hooks,
		id:         work.NewID(),
	}, nil
}

// feedKinds is what a center starting its down feed afresh gets, in this
// order: its workers' skills, the projects of its active leases, every
// course, the audits out at the center, and its workers' statements as of
// now. (Its leases themselves are reconciled by the heartbeat.)
// Statements are also the one kind sent as the center reads its feed
// rather than as things change.
func (h *Hub) feedKinds() feed.Kinds {
	return feed.Kinds{
		{Name: "skill", Snapshot: feed.SnapshotOf(training.SkillSnapshot)},
		{Name: "project", Snapshot: feed.SnapshotOf(dispatch.ProjectSnapshot)},
		{Name: "course", Snapshot: feed.SnapshotOf(training.CourseSnapshot)},
		{Name: dispatch.FeedKindAuditTask, Snapshot: feed.SnapshotOf(h.Dispatch.AuditSnapshot)},
		{Name: "statement",
			Snapshot: feed.SnapshotOf(func(ctx context.Context, r store.Reader, centerID string) ([]ledger.FeedStatement, error) {
				return ledger.StatementSnapshot(ctx, r, centerID, h.Store.Now(), h.Config.MinWage)
			}),
			Refresh: func(ctx context.Context, st *store.Store, centerID string) error {
				return ledger.SendStatements(ctx, st, centerID, h.Config.StatementInterval, h.Config.MinWage)
			}},
	}
}

// Close closes the database.
func (h *Hub) Close() error { return h.Store.Close() }

// Handler is the hub's whole HTTP surface.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	a := &api.API{
		Store: h.Store, Auth: h.Auth, Dispatch: h.Dispatch, Desk: h.Dispatch, Log: h.Log,
		SpoolDir: h.spool, MaxUploadBytes: h.Config.MaxUploadBytes,
		Limits: ingest.Limits{MaxRowBytes: h.Config.MaxRowBytes}, Blobs: h.Blobs, MinimumWage: h.Config.MinWage,
		TrainingRate: h.Config.TrainingRate, AllowPrivateWebhooks: h.Config.AllowPrivateWebhooks,
		TokenRate: h.Config.TokenRate, Spans: work.SpanLimits{DailyCap: h.Config.DailyTimeCap}, Hooks: h.hooks,
		LiveHubs: func() int { return int(max(h.live.Load(), 1)) },
	}
	a.Register(mux)
	up := &uplink.Hub{Store: h.Store, Auth: h.Auth, Dispatch: h.Dispatch, Log: h.Log, Version: h.Config.Version, LeaseTTL: h.Config.LeaseTTL,
		Blobs: h.Blobs, TrainingRate: h.Config.TrainingRate,
		Spans:     work.SpanLimits{DailyCap: h.Config.DailyTimeCap, Skew: h.Config.CenterClockSkew},
		FeedKinds: h.feedKinds()}
	up.Register(mux)
	(&web.Web{Store: h.Store, Auth: h.Auth, Desk: desk{h.Dispatch, h.Config.MinWage}, Reviews: h.Dispatch, Blobs: h.Blobs, Log: h.Log, Place: "hub", API: a, MinimumWage: h.Config.MinWage,
		TrainingRate: h.Config.TrainingRate, Spans: work.SpanLimits{DailyCap: h.Config.DailyTimeCap}}).Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	// Measurements are for the hub's staff (a scraper sends an ops
	// token): queue depths say how much work each client sent.
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, err := h.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil || !p.IsHubStaff() {
			http.Error(w, "metrics need a hub admin's or ops token", http.StatusUnauthorized)
			return
		}
		h.metrics().ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := h.ready(r.Context()); err != nil {
			h.Log.Warn("not ready", "err", err)
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return h.metrics().Middleware(mux)
}

func (h *Hub) ready(ctx context.Context) error {
	if err := h.Store.Ping(ctx); err != nil {
		return errors.New("database does not answer")
	}
	pending, err := h.Store.PendingMigrations(ctx)
	if err != nil {
		return errors.New("cannot read migration state")
	}
	if len(pending) > 0 {
		return fmt.Errorf("%d migration(s) pending", len(pending))
	}
	return nil
}

// Serve serves the hub on ln until ctx is cancelled, then lets in-flight
// requests finish for up to Config.ShutdownTimeout. Background jobs (the
// Dawid–Skene re-fit) run while it serves.
func (h *Hub) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Uploads and exports can be large and links slow; the body
		// timeouts are generous, the header timeout is not.
		ReadTimeout:  30 * time.Minute,
		WriteTimeout: 30 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(h.Log.Handler(), slog.LevelWarn),
	}
	// Before any work is handed out, batches are dated by this hub's rule
	// (and those made before there was one are dated at all).
	moved, err := project.SetDueRule(ctx, h.Store, project.DueRule{Undated: h.Config.UndatedDue, PriorityStep: h.Config.PriorityStep})
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if moved > 0 {
		h.Log.Info("batches re-dated for the order work is handed out in", "batches", moved)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Every hub beats, not one at a time: each counts the others.
	if err := h.Beat(ctx); err != nil {
		h.Log.Warn("hub heartbeat failed", "err", err)
	}
	go tick(ctx, heartbeatEvery, func() {
		if err := h.Beat(ctx); err != nil && ctx.Err() == nil {
			h.Log.Warn("hub heartbeat failed", "err", err)
		}
	})
	if h.Config.RefitInterval > 0 {
		go h.every(ctx, h.Config.RefitInterval, "refit", func(ctx context.Context) error {
			err := h.Dispatch.RefitDue(ctx, h.Log)
			if err == nil {
				h.metrics().Counter("banyan_aggregation_runs_total", "").Add(1)
			}
			return err
		})
	}
	if h.Config.RecallMargin > 0 {
		go h.every(ctx, time.Minute, "recall", h.recallNearDeadlines)
	}
	go h.every(ctx, time.Minute, "audits", h.recallAudits)
	// Webhook deliveries: batches found complete, then everything due.
	hooks := &webhook.Sender{Queue: h.hooks, Client: h.hookClient, Log: h.Log}
	go h.every(ctx, 2*time.Second, "webhooks", hooks.DeliverDue)
	// Who is paid under the minimum wage, for the staff and the centers.
	if h.Config.MinWage > 0 {
		go h.every(ctx, time.Hour, "wage", func(ctx context.Context) error {
			return ledger.WageCheck(ctx, h.Store, time.Now(), h.Config.MinWage)
		})
	}
	// Held answers come due, and money events become ledger entries in
	// chained batches.
	go h.every(ctx, ledgerInterval, "ledger", func(ctx context.Context) error {
		for {
			n, err := ledger.ApproveDue(ctx, h.Store, 1000)
			if err != nil {
				return err
			}
			if n < 1000 {
				break
			}
		}
		_, err := ledger.Post(ctx, h.Store)
		return err
	})
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), h.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("hub: shutdown: %w", err)
	}
	return nil
}

// ledgerInterval is how often waiting money events are posted.
const ledgerInterval = 5 * time.Second

// every runs a background job each interval until ctx ends. With several
// hubs on one database, one of them runs it at a time; a hub that finds
// it running skips its turn.
func (h *Hub) every(ctx context.Context, interval time.Duration, job string, fn func(context.Context) error) {
	tick(ctx, interval, func() {
		if _, err := h.Store.RunAlone(ctx, job, fn); err != nil && ctx.Err() == nil {
			h.Log.Warn("background job failed", "job", job, "err", err)
		}
	})
}

// tick runs fn each interval until ctx ends.
func tick(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// heartbeatEvery is how often a hub says it is alive; one not heard from
// for three beats no longer counts among the live hubs.
const heartbeatEvery = 5 * time.Second

// Beat says this hub process is alive, and counts the hubs that are: the
// per-token rate limit is divided among them, so a token spread over every
// hub gets the configured rate in all. Serve beats every heartbeatEvery.
func (h *Hub) Beat(ctx context.Context) error {
	if err := auth.HubHeartbeat(ctx, h.Store, h.id); err != nil {
		return err
	}
	n, err := auth.LiveHubs(ctx, h.Store, 3*heartbeatEvery)
	if err != nil {
		return err
	}
	h.live.Store(int64(n))
	return nil
}

// recallNearDeadlines recalls leases of batches near their deadline from
// silent centers.
func (h *Hub) recallNearDeadlines(ctx context.Context) error {
	n, err := h.Dispatch.RecallNearDeadline(ctx, h.Config.RecallMargin, h.Config.RecallSilence)
	if n > 0 {
		h.Log.Info("leases recalled from silent centers ahead of batch deadlines", "leases", n)
	}
	return err
}

// recallAudits takes back the blind audits village centers did not
// decide in time.
func (h *Hub) recallAudits(ctx context.Context) error {
	n, err := h.Dispatch.RecallAudits(ctx)
	if n > 0 {
		h.Log.Info("audits taken back from village centers", "audits", n)
	}
	return err
}

// InitAdmin makes the hub's first admin and returns a one-time token. It
// refuses when an admin exists already, so the command can't be used to
// mint tokens later.
func (h *Hub) InitAdmin(ctx context.Context, name string) (string, error) {
	n, err := h.Auth.CountUsers(ctx, auth.HubOrgID, string(auth.HubAdmin))
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", fmt.Errorf("hub: an admin exists already; ask them for a token (POST /api/v1/users/{id}/tokens)")
	}
	u, err := h.Auth.CreateUser(ctx, auth.HubOrgID, name, string(auth.HubAdmin))
	if err != nil {
		return "", err
	}
	secret, _, err := h.Auth.Issue(ctx, u, "admin init")
	if err != nil {
		return "", err
	}
	_, err = audit.Log(ctx, h.Store, auth.HubOrgID, audit.Record{Actor: "cli", Action: "admin init", Subject: u.ID})
	return secret, err
}

// AddCenter enrols a village center: its organisation and its machine
// user, and a token for the center to sync with. The token is shown once.
func (h *Hub) AddCenter(ctx context.Context, name string) (auth.Org, string, error) {
	c, err := h.Auth.CreateOrg(ctx, auth.OrgCenter, name)
	if err != nil {
		return auth.Org{}, "", err
	}
	u, err := h.Auth.CreateUser(ctx, c.ID, "center node", string(auth.CenterNode))
	if err != nil {
		return auth.Org{}, "", err
	}
	secret, _, err := h.Auth.Issue(ctx, u, "center sync")
	if err != nil {
		return auth.Org{}, "", err
	}
	_, err = audit.Log(ctx, h.Store, auth.HubOrgID, audit.Record{Actor: "cli", Action: "center add", Subject: c.ID})
	return c, secret, err
}

// metrics returns the hub's registry, made with its gauges on first use.
func (h *Hub) metrics() *metrics.Registry {
	h.metricsOnce.Do(func() {
		r := metrics.New()
		h.refits = r.Counter("banyan_aggregation_runs_total", "Rounds of the Dawid–Skene re-fit this hub ran.")
		r.Gauge("banyan_answers_total", "Answers stored, from the hub's workers and the centers'.", "counter", func(ctx context.Context) ([]metrics.Sample, error) {
			n, err := report.CountAnswers(ctx, h.Store)
			return []metrics.Sample{{Value: float64(n)}}, err
		})
		r.Gauge("banyan_queue_tasks", "Tasks still wanting answers, by project.", "gauge", func(ctx context.Context) ([]metrics.Sample, error) {
			d, err := report.QueueDepths(ctx, h.Store)
			var out []metrics.Sample
			for p, n := range d {
				out = append(out, metrics.Sample{Labels: map[string]string{"project": p}, Value: float64(n)})
			}
			return out, err
		})
		r.Gauge("banyan_uplink_backlog", "Records a village center said were waiting to upload, at its last contact.", "gauge", func(ctx context.Context) ([]metrics.Sample, error) {
			links, err := report.CenterLinks(ctx, h.Store, store.Page{Limit: 10000})
			var out []metrics.Sample
			for _, l := range links {
				if l.ID == auth.BuiltinCenterOrgID {
					continue
				}
				out = append(out, metrics.Sample{Labels: map[string]string{"center": l.ID}, Value: float64(l.Backlog)})
			}
			return out, err
		})
		r.Gauge("banyan_ledger_unposted", "Money events waiting to be posted to the ledger.", "gauge", func(ctx context.Context) ([]metrics.Sample, error) {
			n, err := ledger.Unposted(ctx, h.Store)
			return []metrics.Sample{{Value: float64(n)}}, err
		})
		h.Metrics = r
	})
	return h.Metrics
}
