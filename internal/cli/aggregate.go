package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"banyan/internal/ingest"
	"banyan/internal/quality"
)

func aggregate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("aggregate", "aggregate --method mv|wawa|onecoin|ds|glad --in labels.csv [--gold gold.csv] [--out results.csv]",
		"Aggregates crowd labels you already have. labels.csv (or .csv.gz) has the header\n"+
			"task,worker,label; repeats are allowed. Writes task,label,confidence (to --out,\n"+
			"or stdout). With --gold (task,label) it prints the accuracy over the gold tasks\n"+
			"that have labels.", errOut)
	method := fs.String("method", "ds", "aggregation method: mv, wawa, onecoin, ds or glad")
	in := fs.String("in", "", "labels file (CSV or gzip-compressed CSV)")
	gold := fs.String("gold", "", "optional gold file with the header task,label")
	outPath := fs.String("out", "", "results file (default: standard output)")
	opt := quality.DefaultOptions
	fs.Float64Var(&opt.Smoothing, "smoothing", opt.Smoothing, "pseudo-count added to confusion counts (0 turns smoothing off)")
	fs.Float64Var(&opt.Tolerance, "tolerance", opt.Tolerance, "stop EM when the log-likelihood changes by less than this fraction")
	fs.IntVar(&opt.MaxIterations, "max-iterations", opt.MaxIterations, "most EM iterations")
	verbose := fs.Bool("v", false, "print timings and the fit's iterations to stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := quality.ParseMethod(*method)
	if err != nil {
		return &usageError{"--method: " + err.Error()}
	}
	if *in == "" {
		return &usageError{"--in: name the labels file"}
	}
	start := time.Now()
	labels, err := readFile(*in, ingest.ReadLabels)
	if err != nil {
		return err
	}
	var truth map[string]string
	if *gold != "" {
		if truth, err = readFile(*gold, ingest.ReadGold); err != nil {
			return err
		}
	}
	parsed := time.Now()
	est, err := quality.Aggregate(labels, m, opt)
	if err != nil {
		return err
	}
	fitted := time.Now()
	w := out
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return fmt.Errorf("aggregate: --out: %w", err)
		}
		defer f.Close()
		w = f
	}
	if *outPath != "" || truth == nil {
		if err := ingest.WriteEstimate(w, est); err != nil {
			return fmt.Errorf("aggregate: write results: %w", err)
		}
	}
	if *verbose {
		fmt.Fprintf(errOut, "%d labels, %d tasks, %d workers, %d classes; read %.3f s, fit %.3f s (%d iterations, log-likelihood %.4f)\n",
			len(labels.Task), labels.NumTasks(), labels.NumWorkers(), labels.NumClasses(),
			parsed.Sub(start).Seconds(), fitted.Sub(parsed).Seconds(), est.Iterations, est.LogLikelihood)
	}
	if truth != nil {
		acc, n := est.Accuracy(truth)
		if n == 0 {
			return fmt.Errorf("aggregate: no task in %s has labels in %s", *gold, *in)
		}
		fmt.Fprintf(out, "accuracy %.4f over %d gold tasks (method %s)\n", acc, n, m)
	}
	return nil
}

// readFile opens path and reads it with read, naming the file in errors.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
