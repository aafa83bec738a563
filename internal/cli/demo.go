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
	"path/filepath"
	"sync"
	"time"

	"banyan/internal/center"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/sim"
)

func demo(ctx context.Context, args []string, out, errOut io.Writer) error {
	// The hub's log, the center's and the demo's progress all write here,
	// from many goroutines.
	errOut = &lockedWriter{w: errOut}
	cfg := hub.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = ""
	// The demo compresses a day into seconds; so does its re-fit schedule.
	cfg.RefitInterval = 2 * time.Second
	// The simulated workers run thousands of times faster than people:
	// lift the per-token limit that guards a real hub.
	cfg.TokenRate = 1_000_000
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
	withCenter := fs.Bool("center", true, "put every third worker in a village center behind a simulated link with an outage")
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
	// The hub measures each answer's working time itself; the simulated
	// workers live opt.TimeScale times faster than people, so their
	// measured time is scaled back to life.
	cfg.WorkTimeScale = opt.TimeScale
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
	if *withCenter {
		dc, stopCenter, err := demoCenter(sctx, h, ln.Addr().String(), cfg.DataDir, opt.TimeScale, errOut)
		if err != nil {
			return err
		}
		defer stopCenter()
		opt.Center = dc
	}
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

// demoCenter starts a village center for the demo, syncing with the hub at
// hubAddr through a simulated link, with an outage planned in the work.
func demoCenter(ctx context.Context, h *hub.Hub, hubAddr, dataDir string, timeScale float64, errOut io.Writer) (*sim.DemoCenter, func(), error) {
	c0, token, err := h.AddCenter(ctx, "Kottur village center")
	if err != nil {
		return nil, nil, err
	}
	link, err := sim.NewLink(hubAddr, sim.LinkConfig{Latency: 20 * time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	cfg := center.DefaultConfig()
	cfg.HubURL, cfg.Token, cfg.DataDir = "http://"+link.Addr(), token, filepath.Join(dataDir, "center")
	// Enough leased work per worker to carry on through the outage.
	cfg.Addr, cfg.SyncInterval, cfg.Ahead, cfg.Version = "127.0.0.1:0", 200*time.Millisecond, 30, Version
	cfg.WorkTimeScale = timeScale
	c, err := center.Open(ctx, cfg, logger(errOut, slog.LevelWarn))
	if err != nil {
		link.Close()
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		c.Close()
		link.Close()
		return nil, nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.Serve(cctx, ln); close(done) }()
	stop := func() {
		cancel()
		<-done
		c.Close()
		link.Close()
	}
	dc := &sim.DemoCenter{
		URL:  "http://" + ln.Addr().String(),
		Link: link, OutageAfter: time.Second, OutageFor: 2500 * time.Millisecond, Every: 3,
		Enrol: func(ctx context.Context, name string) (string, string, error) {
			u, tok, err := c.EnrolWorker(ctx, name)
			c.Nudge()
			return u.ID, tok, err
		},
		Pending: func(ctx context.Context) (int, error) {
			q, err := c.Local.Queue(ctx)
			return q.Pending, err
		},
		OnHub: func(ctx context.Context, ids []string) (int, int, error) {
			found, err := dispatch.AnswersPresent(ctx, h.Store, ids)
			if err != nil {
				return 0, 0, err
			}
			all, err := dispatch.AnswersFromOrg(ctx, h.Store, c0.ID)
			return found, all, err
		},
	}
	return dc, stop, nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
