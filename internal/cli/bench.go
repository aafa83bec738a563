package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"banyan/internal/ingest"
	"banyan/internal/quality"
)

func bench(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) > 0 && args[0] == "dispatch" {
		return benchDispatch(ctx, args[1:], out, errOut)
	}
	if len(args) == 0 || args[0] != "aggregate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(out, "Usage: banyan bench aggregate|dispatch [flags]\n\nBenchmarks: 'aggregate' runs every aggregation method on every dataset in a folder;\n'dispatch' drives simulated workers over HTTP against the hub.")
			return nil
		}
		return &usageError{"usage: banyan bench aggregate|dispatch [flags] (see 'banyan bench dispatch --help')"}
	}
	fs := newFlags("bench aggregate", "bench aggregate [--data DIR] [--runs N]",
		"Runs every aggregation method on every dataset under --data (folders holding\n"+
			"labels.csv[.gz] and gold.csv[.gz]) and prints a Markdown table of accuracy against\n"+
			"gold and fit time (the fastest of --runs; parsing not included).", errOut)
	dir := fs.String("data", "../shared/data", "folder of datasets")
	runs := fs.Int("runs", 3, "fits per method and dataset; the fastest is reported")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *runs < 1 {
		return &usageError{"--runs: at least 1"}
	}
	entries, err := os.ReadDir(*dir)
	if err != nil {
		return fmt.Errorf("bench: --data: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	header := "| dataset | labels |"
	rule := "| --- | ---: |"
	for _, m := range quality.Methods {
		header += fmt.Sprintf(" %s acc | %s s |", m, m)
		rule += " ---: | ---: |"
	}
	fmt.Fprintln(out, header)
	fmt.Fprintln(out, rule)
	for _, name := range names {
		labels, gold, err := loadDataset(filepath.Join(*dir, name))
		if err != nil {
			fmt.Fprintf(errOut, "skipping %s: %v\n", name, err)
			continue
		}
		row := []string{name, fmt.Sprint(len(labels.Task))}
		for _, m := range quality.Methods {
			best := time.Duration(1 << 62)
			var est *quality.Estimate
			for range *runs {
				start := time.Now()
				if est, err = quality.Aggregate(labels, m, quality.Options{}); err != nil {
					return err
				}
				best = min(best, time.Since(start))
			}
			acc, _ := est.Accuracy(gold)
			row = append(row, fmt.Sprintf("%.4f", acc), fmt.Sprintf("%.3f", best.Seconds()))
		}
		fmt.Fprintln(out, "| "+strings.Join(row, " | ")+" |")
	}
	return nil
}

// loadDataset reads dir/labels.csv[.gz] and dir/gold.csv[.gz].
func loadDataset(dir string) (*quality.Labels, map[string]string, error) {
	find := func(base string) string {
		for _, p := range []string{base + ".csv", base + ".csv.gz"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p)
			}
		}
		return ""
	}
	lp, gp := find("labels"), find("gold")
	if lp == "" || gp == "" {
		return nil, nil, fmt.Errorf("no labels.csv and gold.csv")
	}
	labels, err := readFile(lp, ingest.ReadLabels)
	if err != nil {
		return nil, nil, err
	}
	gold, err := readFile(gp, ingest.ReadGold)
	return labels, gold, err
}
