package quality_test

import (
	"os"
	"path/filepath"
	"testing"

	"banyan/internal/ingest"
	"banyan/internal/quality"
)

// sharedData is where the public crowdsourcing datasets live, beside the
// repository.
const sharedData = "../../../shared/data"

// loadDataset reads one dataset's labels and gold, or skips the test (fails
// it under CI=true, where the data must be present).
func loadDataset(tb testing.TB, name string) (*quality.Labels, map[string]string) {
	tb.Helper()
	dir := filepath.Join(sharedData, name)
	labelsPath := filepath.Join(dir, "labels.csv")
	goldPath := filepath.Join(dir, "gold.csv")
	if _, err := os.Stat(labelsPath); err != nil {
		labelsPath += ".gz"
		goldPath += ".gz"
	}
	f, err := os.Open(labelsPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("dataset %s is missing (want ../shared/data beside the repository): %v", name, err)
		}
		tb.Skipf("dataset %s not found at %s; put ../shared/data beside the repository to run this", name, dir)
	}
	defer f.Close()
	labels, err := ingest.ReadLabels(f)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := os.Open(goldPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer g.Close()
	gold, err := ingest.ReadGold(g)
	if err != nil {
		tb.Fatal(err)
	}
	return labels, gold
}

// BenchmarkDSFitSynth200k times the Dawid–Skene fit (parsing excluded) on
// 1,000,000 labels and reports its accuracy.
func BenchmarkDSFitSynth200k(b *testing.B) {
	labels, gold := loadDataset(b, "synth_200k")
	var est *quality.Estimate
	for b.Loop() {
		var err error
		if est, err = quality.Aggregate(labels, quality.DS, quality.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	acc, _ := est.Accuracy(gold)
	b.ReportMetric(acc, "accuracy")
	b.ReportMetric(float64(est.Iterations), "iterations")
}

// crowdKitBest is the best accuracy any crowd-kit method reaches on each
// dataset (from ../shared/data/README.md).
var crowdKitBest = map[string]float64{
	"zheng_d_product": 0.9397, // DS
	"zheng_s_rel":     0.6173, // DS
	"snow_rte":        0.9275, // DS
	"web":             0.8296, // MACE
	"zheng_s_dog":     0.8426, // DS
	"synth_200k":      0.9230, // DS
}

// Dawid–Skene with default options is within half a point of the best
// crowd-kit method on every public dataset, or better.
func TestDSOnPublicDatasets(t *testing.T) {
	t.Parallel()
	for name, best := range crowdKitBest {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			labels, gold := loadDataset(t, name)
			est, err := quality.Aggregate(labels, quality.DS, quality.Options{})
			if err != nil {
				t.Fatal(err)
			}
			acc, n := est.Accuracy(gold)
			if n == 0 || acc < best-0.005 {
				t.Fatalf("DS accuracy %.4f over %d gold tasks, want at least %.4f (crowd-kit's best %.4f less half a point)", acc, n, best-0.005, best)
			}
		})
	}
}
