package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"banyan/internal/auth"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/sim"
	"banyan/internal/store"
	"banyan/internal/work"
)

// benchDispatch drives simulated workers over HTTP against hubs in this
// process, on SQLite or on one PostgreSQL database.
func benchDispatch(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("bench dispatch", "bench dispatch [--db URL] [--hubs N] [--workers N] [--tasks N] [--duration D] [--json]",
		"Loads a classify project of --tasks tasks (overlap 1), then runs --workers simulated\n"+
			"workers of the hub's built-in center, each taking the next task and answering it\n"+
			"over HTTP as fast as it can, against --hubs hub processes' handlers on 127.0.0.1,\n"+
			"for --duration (with --rate, paced to that many answers a second in all).\n"+
			"Prints answers per second, next-task and answer latency\n"+
			"(p50, p99), and the disk's fsync rate for scale. Without --db it uses a fresh\n"+
			"SQLite file; with a postgres:// URL it writes into that database (give it one of\n"+
			"its own).", errOut)
	db := fs.String("db", "", "database: empty for a fresh SQLite file, or a postgres:// URL")
	hubs := fs.Int("hubs", 1, "hub processes' handlers sharing the database (PostgreSQL only for more than 1)")
	workers := fs.Int("workers", 200, "simulated workers")
	tasks := fs.Int("tasks", 1_000_000, "tasks in the project")
	duration := fs.Duration("duration", 20*time.Second, "how long the workers run")
	rate := fs.Float64("rate", 0, "pace the workers to this many answers a second in all (0: as fast as they can)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (hubs and workers) to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *hubs < 1 || *hubs > 8:
		return &usageError{"--hubs: 1 to 8"}
	case *hubs > 1 && !store.IsPostgres(*db):
		return &usageError{"--hubs: more than one hub needs a shared PostgreSQL database (--db postgres://…)"}
	case *workers < 1 || *tasks < 1 || *duration <= 0:
		return &usageError{"--workers, --tasks and --duration must be positive"}
	case *rate < 0:
		return &usageError{"--rate: answers a second, 0 or more"}
	}
	dir, err := os.MkdirTemp("", "banyan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := logger(errOut, slog.LevelWarn)
	var urls []string
	var first *hub.Hub
	for i := range *hubs {
		cfg := hub.DefaultConfig()
		cfg.DataDir, cfg.DB, cfg.RefitInterval, cfg.RecallMargin = fmt.Sprintf("%s/hub%d", dir, i), *db, 0, 0
		// The hubs share the database's connection budget, as they
		// would in production (see --db-conns).
		cfg.DBConns = max(4, store.DefaultPostgresConns / *hubs)
		h, err := hub.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer h.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		// Deferred after h.Close, so it runs first: requests in flight
		// finish before the database closes.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		urls = append(urls, "http://"+ln.Addr().String())
		if first == nil {
			first = h
		}
	}
	st := first.Store
	client, err := first.Auth.CreateOrg(ctx, auth.OrgClient, "bench client "+work.NewID())
	if err != nil {
		return err
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "bench", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "loading %d tasks…\n", *tasks)
	t0 := time.Now()
	_, err = project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "bench", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range *tasks {
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"post %d"}`, i)}, nil) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	loaded := time.Since(t0)
	fmt.Fprintf(errOut, "loaded in %.1f s; enrolling %d workers…\n", loaded.Seconds(), *workers)
	tokens := make([]string, *workers)
	for i := range tokens {
		u, err := first.Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, fmt.Sprintf("bench-%s-%d", client.ID[24:], i), "worker")
		if err != nil {
			return err
		}
		if tokens[i], _, err = first.Auth.Issue(ctx, u, "bench"); err != nil {
			return err
		}
	}
	fsyncs, err := sim.FsyncRate(dir, 2*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "running %d workers against %d hub(s) for %s…\n", *workers, *hubs, *duration)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := sim.RunLoad(ctx, sim.LoadOptions{URLs: urls, Tokens: tokens, Duration: *duration, Rate: *rate})
	if err != nil {
		return err
	}
	engine := "sqlite"
	if store.IsPostgres(*db) {
		engine = "postgres"
	}
	summary := struct {
		Engine       string  `json:"engine"`
		Tasks        int     `json:"tasks"`
		LoadSeconds  float64 `json:"load_seconds"`
		FsyncsPerSec float64 `json:"fsyncs_per_second"`
		sim.LoadResult
	}{engine, *tasks, loaded.Seconds(), fsyncs, res}
	if *asJSON {
		return json.NewEncoder(out).Encode(summary)
	}
	paced := "as fast as they can"
	if *rate > 0 {
		paced = fmt.Sprintf("paced to %.0f answers/s", *rate)
	}
	fmt.Fprintf(out, "%s, %d hub(s), %d workers (%s), %d tasks: %.0f answers/s over %.1f s (%d answers, %d errors); next task p50 %.1f ms, p99 %.1f ms; answer p50 %.1f ms, p99 %.1f ms; disk %.0f fsyncs/s\n",
		engine, res.Hubs, res.Workers, paced, *tasks, res.AnswersPerSecond, res.Seconds, res.Answers, res.Errors,
		res.NextP50MS, res.NextP99MS, res.AnswerP50MS, res.AnswerP99MS, fsyncs)
	return nil
}
