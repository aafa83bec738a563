// Package cli owns the banyan command's verbs: it parses flags and the
// environment into typed configuration and calls the packages that do the
// work. It holds no logic of its own beyond that wiring.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"banyan/internal/api"
	"banyan/internal/audit"
	"banyan/internal/center"
	"banyan/internal/hub"
	"banyan/internal/ledger"
	"banyan/internal/store"
)

// Version is the release, set at build time with -ldflags.
var Version = "dev"

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// ExitCode maps an error from Run to a process exit code: 2 for a mistake
// in the command line, 1 for anything else.
func ExitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

type verb struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func verbs() []verb {
	return []verb{
		{"serve", "run a hub: the REST API for clients, operators and workers", serve},
		{"center", "run a village center: local SQLite, the worker API on the LAN, the uplink to the hub", centerCmd},
		{"demo", "run a hub with sample clients and simulated workers, and report the quality", demo},
		{"import", "upload a batch file (CSV or JSONL) to a project on a hub, with progress", importCmd},
		{"export", "download a project's or a batch's results from a hub, with progress", exportCmd},
		{"aggregate", "aggregate crowd labels you already have (majority vote, Dawid–Skene, GLAD, …)", aggregate},
		{"admin", "hub administration: 'admin init' makes the first admin, 'admin center add NAME' enrols a center", admin},
		{"migrate", "show or apply database migrations: 'migrate status', 'migrate up'", migrate},
		{"ledger", "check the money ledger: 'ledger verify' recomputes its hash chain and totals", ledgerCmd},
		{"audit", "check the audit log: 'audit verify' recomputes its hash chain", auditCmd},
		{"bench", "benchmarks: 'bench aggregate' (aggregation methods on public datasets), 'bench dispatch' (workers over HTTP)", bench},
		{"config", "print the effective configuration, secrets redacted", printConfig},
		{"openapi", "print the API's OpenAPI 3.1 document, the hub's or (--center) a center's; both serve theirs at /api/v1/openapi.json", openapiCmd},
		{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintln(out, "banyan", Version)
			return nil
		}},
	}
}

const intro = `banyan runs a rural BPO: a hub in the city takes work from clients, village
centers do it, and quality is measured on every result.

Usage: banyan <command> [flags]

Commands:
`

func usage(w io.Writer) {
	fmt.Fprint(w, intro)
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-9s %s\n", v.name, v.summary)
	}
	fmt.Fprint(w, "\nRun 'banyan <command> --help' for a command's flags. Every flag can also be\nset as an environment variable: --max-upload-bytes is BANYAN_MAX_UPLOAD_BYTES.\n")
}

// Run runs the banyan command with args (without the program name).
func Run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		usage(errOut)
		return &usageError{"no command given"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(out)
		return nil
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			err := v.run(ctx, args[1:], out, errOut)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(errOut)
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// newFlags makes a flag set for a verb whose help text says what it does.
func newFlags(name, synopsis, about string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: banyan %s\n\n%s\n\nFlags (each also as BANYAN_<NAME>):\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, then fills every flag not given on the command line
// from its BANYAN_* environment variable, or from the file named by
// BANYAN_*_FILE (for secrets). Flags win over the environment; an empty
// variable counts as unset.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "BANYAN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if path, fromFile := os.LookupEnv(env + "_FILE"); !ok && fromFile {
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				err = fmt.Errorf("%s_FILE: %w", env, rerr)
				return
			}
			v, ok = strings.TrimSpace(string(b)), true
		}
		if ok && v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = &usageError{fmt.Sprintf("%s=%q: %v", env, v, serr)}
			}
		}
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// hubFlags binds the hub's configuration to flags.
func hubFlags(fs *flag.FlagSet, c *hub.Config) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on, host:port")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (database, spooled uploads)")
	fs.StringVar(&c.Blobs, "blobs", c.Blobs, "directory of task attachments (default <data>/blobs; shared by every hub on one database)")
	fs.StringVar(&c.DB, "db", c.DB, "database: a SQLite file path (default <data>/banyan.db) or a postgres:// URL")
	fs.Float64Var(&c.TokenRate, "token-rate", c.TokenRate, "API calls a second one token may make, bursts of twice that (0: 200)")
	fs.BoolVar(&c.AllowPrivateWebhooks, "allow-private-webhooks", c.AllowPrivateWebhooks, "let webhooks target special-purpose addresses: private, loopback, shared, link-local … every IANA special-purpose range (off: no SSRF)")
	fs.Int64Var(&c.TrainingRate, "training-rate", c.TrainingRate, "pay for an hour of accepted training time, in paise (0: unpaid)")
	fs.DurationVar(&c.DailyTimeCap, "daily-time-cap", c.DailyTimeCap, "most active time (measured task time and accepted spans) a worker's day may hold with a declared span in it")
	fs.DurationVar(&c.CenterClockSkew, "center-clock-skew", c.CenterClockSkew, "how far past the hub's clock a village center's span may end, once its clock is put on the hub's")
	fs.Int64Var(&c.MinWage, "min-wage", c.MinWage, "minimum wage in paise per hour of active task time; statements under it are marked (0: off)")
	fs.IntVar(&c.DBConns, "db-conns", c.DBConns, "most connections this hub opens to PostgreSQL (0: 32); hubs on one database share the server, so divide the total between them")
	fs.BoolVar(&c.NoMigrate, "no-migrate", c.NoMigrate, "refuse to start with pending migrations instead of applying them")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "largest batch upload, in bytes")
	fs.IntVar(&c.MaxRowBytes, "max-row-bytes", c.MaxRowBytes, "largest row of a batch file, in bytes")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "time in-flight requests get to finish on shutdown")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", c.LeaseTTL, "how long a center holds a leased task without a heartbeat")
	fs.DurationVar(&c.LeaseGrace, "lease-grace", c.LeaseGrace, "how long past its TTL a lease is kept before its task goes to someone else")
	fs.DurationVar(&c.RecallMargin, "recall-margin", c.RecallMargin, "recall leases of a batch from silent centers once its deadline is this close (0 turns it off)")
	fs.DurationVar(&c.RecallSilence, "recall-silence", c.RecallSilence, "how long a center must be silent before leases near a deadline are recalled from it")
	fs.DurationVar(&c.AuditTimeout, "audit-timeout", c.AuditTimeout, "how long a village center's reviewers have for a blind audit before the hub takes it back")
	fs.DurationVar(&c.StatementInterval, "statement-interval", c.StatementInterval, "least time between two earnings statements of one worker sent down to their village center")
	fs.DurationVar(&c.UndatedDue, "undated-due", c.UndatedDue, "a batch without a deadline is handed out as if due this long after its upload")
	fs.DurationVar(&c.PriorityStep, "priority-step", c.PriorityStep, "each step of a project's priority (0 to 3) hands its batches out as if due this much earlier (0: priority ignored)")
	fs.DurationVar(&c.RefitInterval, "refit-interval", c.RefitInterval, "how often projects settled by method ds are re-fitted with Dawid–Skene (0 turns it off)")
}

func logger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := hub.DefaultConfig()
	fs := newFlags("serve", "serve [flags]", "Runs a hub on SQLite: the REST API under /api/v1, /healthz and /readyz.\nPending migrations are applied at start unless --no-migrate.", errOut)
	hubFlags(fs, &cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	log := logger(errOut, slog.LevelInfo)
	cfg.Version = Version
	h, err := hub.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.Addr, err)
	}
	log.Info("hub serving", "url", "http://"+ln.Addr().String(), "db", store.RedactDSN(cfg.DBPath()), "version", Version)
	return h.Serve(ctx, ln)
}

func admin(ctx context.Context, args []string, out, errOut io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch {
	case sub == "init":
		return adminInit(ctx, args[1:], out, errOut)
	case sub == "center" && len(args) > 1 && args[1] == "add":
		return adminCenterAdd(ctx, args[2:], out, errOut)
	case sub == "-h" || sub == "--help":
		fmt.Fprintln(out, "Usage: banyan admin init [--name NAME] [hub flags]\n       banyan admin center add NAME [hub flags]\n\n"+
			"'init' makes the hub's first admin and prints a one-time API token.\n"+
			"'center add' enrols a village center and prints its sync token, once.")
		return nil
	}
	return &usageError{"usage: banyan admin init | banyan admin center add NAME (see 'banyan admin --help')"}
}

func adminInit(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := hub.DefaultConfig()
	fs := newFlags("admin init", "admin init [flags]", "Makes the hub's first admin user and prints a one-time API token and a web\nsign-in (login and password). Both are shown once and stored only as hashes.\nIt refuses when an admin exists.", errOut)
	hubFlags(fs, &cfg)
	name := fs.String("name", "admin", "the admin's user name")
	if err := parse(fs, args); err != nil {
		return err
	}
	h, err := hub.Open(ctx, cfg, logger(errOut, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer h.Close()
	token, err := h.InitAdmin(ctx, *name)
	if err != nil {
		return err
	}
	p, err := h.Auth.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	u, err := h.Auth.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	login, password, err := h.Auth.IssuePassword(ctx, u, "")
	if err != nil {
		return fmt.Errorf("hub admin %q made, but no web sign-in: %w", *name, err)
	}
	fmt.Fprintf(errOut, "Hub admin %q made. Web sign-in at /desk/signin: login %s, password %s (shown once).\n", *name, login, password)
	fmt.Fprintf(errOut, "Their API token, shown only this once:\n")
	fmt.Fprintln(out, token)
	return nil
}

func adminCenterAdd(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(errOut, "Usage: banyan admin center add NAME [hub flags]\n\nEnrols a village center and prints its sync token, shown only once.")
			return nil
		}
		return &usageError{"usage: banyan admin center add NAME"}
	}
	name := strings.TrimSpace(args[0])
	cfg := hub.DefaultConfig()
	fs := newFlags("admin center add", "admin center add NAME [flags]", "Enrols a village center and prints its sync token, shown only once.", errOut)
	hubFlags(fs, &cfg)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if name == "" {
		return &usageError{"admin center add: NAME must not be empty"}
	}
	h, err := hub.Open(ctx, cfg, logger(errOut, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer h.Close()
	c, token, err := h.AddCenter(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "Center %q enrolled (id %s). Its sync token, shown only this once:\n", c.Name, c.ID)
	fmt.Fprintln(out, token)
	return nil
}

func migrate(ctx context.Context, args []string, out, errOut io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	cfg := hub.DefaultConfig()
	fs := newFlags("migrate", "migrate status|up [flags]", "'status' lists pending migrations; 'up' applies them.", errOut)
	hubFlags(fs, &cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub != "status" && sub != "up" {
		return &usageError{"usage: banyan migrate status|up"}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil && cfg.DB == "" {
		return err
	}
	// 'status' opens the database without applying anything.
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Migrate: sub == "up", AllowPending: sub == "status"})
	if err != nil {
		return err
	}
	defer st.Close()
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "database is up to date:", cfg.DBPath())
		return nil
	}
	for _, m := range pending {
		fmt.Fprintln(out, "pending:", m.Name)
	}
	return nil
}

func openapiCmd(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("openapi", "openapi [--center]", "Prints the hub API's OpenAPI 3.1 document as JSON, the same one a hub serves at /api/v1/openapi.json; with --center, a village center's.", errOut)
	var forCenter bool
	fs.BoolVar(&forCenter, "center", false, "print the village center's LAN API instead of the hub's")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{"openapi takes no arguments"}
	}
	document := api.OpenAPI
	if forCenter {
		document = center.OpenAPI
	}
	doc, err := document()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", doc)
	return err
}

func printConfig(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := hub.DefaultConfig()
	fs := newFlags("config", "config [flags]", "Prints the configuration the hub would run with, after flags and BANYAN_* variables, as JSON.", errOut)
	hubFlags(fs, &cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	m := map[string]any{}
	raw, _ := json.Marshal(cfg)
	json.Unmarshal(raw, &m)
	m["db"] = store.RedactDSN(cfg.DBPath())
	m["shutdown_timeout"] = cfg.ShutdownTimeout.String()
	m["refit_interval"] = cfg.RefitInterval.String()
	m["lease_ttl"] = cfg.LeaseTTL.String()
	m["lease_grace"] = cfg.LeaseGrace.String()
	m["recall_margin"] = cfg.RecallMargin.String()
	m["recall_silence"] = cfg.RecallSilence.String()
	m["audit_timeout"] = cfg.AuditTimeout.String()
	m["statement_interval"] = cfg.StatementInterval.String()
	m["undated_due"] = cfg.UndatedDue.String()
	m["priority_step"] = cfg.PriorityStep.String()
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// ledgerCmd checks the money ledger's hash chain.
func ledgerCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	cfg := hub.DefaultConfig()
	fs := newFlags("ledger", "ledger verify [flags]", "'verify' recomputes the ledger's hash chain from its first batch and reports the\nfirst batch that was edited, deleted, added to or reordered, and the totals.\nCompare the head hash it prints with one printed earlier (an invoice's) to\ncatch a cut-off tail. Exits 1 when the chain does not check.", errOut)
	hubFlags(fs, &cfg)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub != "verify" {
		return &usageError{"usage: banyan ledger verify [--db URL] [--json]"}
	}
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := ledger.Verify(ctx, st)
	if err != nil {
		return err
	}
	m, err := ledger.Totals(ctx, st)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(out).Encode(map[string]any{"verify": rep, "money": m}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "%d batches, %d entries; head %s\n", rep.Batches, rep.Entries, rep.Head)
		fmt.Fprintf(out, "client receivable %d, worker payable %d, center share %d, hub revenue %d (paise); reconciled: %v\n",
			m.ClientReceivable, m.WorkerPayable, m.CenterShare, m.HubRevenue, m.Reconciled)
	}
	if rep.Problem != "" {
		return fmt.Errorf("ledger: %s", rep.Problem)
	}
	if !m.Reconciled {
		return fmt.Errorf("ledger: the totals do not reconcile")
	}
	return nil
}

// auditCmd checks the audit log's hash chain.
func auditCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	cfg := hub.DefaultConfig()
	fs := newFlags("audit", "audit verify [flags]", "'verify' recomputes the audit log's hash chain and reports the first event that\nwas edited, deleted or reordered. Exits 1 when the chain does not check.", errOut)
	hubFlags(fs, &cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub != "verify" {
		return &usageError{"usage: banyan audit verify [--db URL]"}
	}
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d events in the chain (%d from before it began); head %s\n", rep.Events, rep.Unchained, rep.Head)
	if rep.Problem != "" {
		return fmt.Errorf("audit: %s", rep.Problem)
	}
	return nil
}
