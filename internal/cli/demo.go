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
	"time"

	"banyan/internal/hub"
	"banyan/internal/sim"
)

func demo(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := hub.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = ""
	// The demo compresses a day into seconds; so does its re-fit schedule.
	cfg.RefitInterval = 2 * time.Second
	opt := sim.DefaultDemoOptions()
	fs := newFlags("demo", "demo [--exit] [--json] [flags]",
		"Starts a hub on SQLite in a fresh data directory, makes a sample client with a\n"+
			"content-moderation project and an invoice data-entry project, enrols simulated\n"+
			"workers, and drives every task to a delivered result through the public API.\n"+
			"It then prints how many tasks and answers went through and how accurate the\n"+
			"results are against the known truth. Without --exit the hub keeps serving.", errOut)
	hubFlags(fs, &cfg)
	exit := fs.Bool("exit", false, "stop after printing the summary")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object on stdout")
	fs.Uint64Var(&opt.Seed, "seed", opt.Seed, "seed for the sample data and the workers")
	fs.IntVar(&opt.Workers, "workers", opt.Workers, "simulated workers")
	fs.IntVar(&opt.Posts, "posts", opt.Posts, "moderation posts in the sample batch")
	fs.IntVar(&opt.Invoices, "invoices", opt.Invoices, "invoices in the sample batch")
	fs.Float64Var(&opt.TimeScale, "time-scale", opt.TimeScale, "simulated task times are divided by this")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case opt.Workers < 3:
		return &usageError{"--workers: at least 3, so every task can get its overlap"}
	case opt.Posts < 1 || opt.Invoices < 1:
		return &usageError{"--posts and --invoices: at least 1 each"}
	case opt.TimeScale <= 0:
		return &usageError{"--time-scale: must be above 0"}
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "banyan-demo-")
		if err != nil {
			return err
		}
		cfg.DataDir = dir
		if *exit {
			defer os.RemoveAll(dir)
		}
	}
	h, err := hub.Open(ctx, cfg, logger(errOut, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", cfg.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- h.Serve(sctx, ln) }()

	token, err := h.InitAdmin(ctx, "admin")
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "demo hub at %s (data in %s)\n", url, cfg.DataDir)
	opt.Progress = errOut
	client := &sim.Client{BaseURL: url, Token: token, HTTP: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: opt.Workers + 4},
	}}
	summary, err := sim.RunDemo(ctx, client, opt)
	if err != nil {
		return err
	}
	summary.URL = url
	if *asJSON {
		if err := json.NewEncoder(out).Encode(summary); err != nil {
			return err
		}
	} else {
		summary.Describe(out)
	}
	if *exit {
		stop()
		return <-served
	}
	fmt.Fprintf(errOut, "\nThe hub keeps serving at %s until you press Ctrl-C.\nHub admin token (shown once): %s\n", url, token)
	return <-served
}
