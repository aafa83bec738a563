package review_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/work"
)

// coverageLabels are the classes of the simulated projects.
var coverageLabels = []string{"a", "b", "c"}

// coverageRun is one simulated batch: what the hub estimated and what
// the truth was.
type coverageRun struct {
	truth    float64 // accuracy of the results the workers' answers settled
	est      review.Interval
	audits   int
	tasks    int
	answered int
}

// simulateBatch runs one 200-task batch of a three-label classification
// project through the hub's work path: a crowd whose accuracies are drawn
// around crowd, answering wrongly at random among the other labels; gold
// at 10 %; blind review of a 20 % sample by a reviewer right with
// probability reviewer, whose record is 30 gold answers given before the
// batch. It returns the batch's estimated accuracy beside the accuracy,
// against the truth, of every result the workers' answers settled
// (audited ones included, as the workers' answers would have delivered
// them).
func simulateBatch(t *testing.T, seed uint64, crowd, reviewer float64) coverageRun {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x696e74))
	st := openFast(t)
	d := &dispatch.Service{Store: st}
	c, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client")
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "coverage", Kind: work.Classify, Schema: schema,
		Overlap: 2, MaxOverlap: 4, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodDS,
			ConfidenceTarget: 0.95, GoldRatio: 0.1, ReviewRate: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	truth := make([]string, n)
	for i := range truth {
		truth[i] = coverageLabels[rng.IntN(len(coverageLabels))]
	}
	goldTruth := map[string]string{}
	gold := func(yield func(project.NewTask, error) bool) {
		for i := range 60 {
			l := coverageLabels[i%len(coverageLabels)]
			goldTruth[fmt.Sprintf(`{"text":"gold %d"}`, i)] = l
			if !yield(project.NewTask{Payload: fmt.Appendf(nil, `{"text":"gold %d"}`, i), Gold: []byte(`{"label":"` + l + `"}`)}, nil) {
				return
			}
		}
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, gold); err != nil {
		t.Fatal(err)
	}
	var items iter.Seq2[project.NewTask, error] = func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{ExternalID: strconv.Itoa(i), Payload: fmt.Appendf(nil, `{"text":"item %d"}`, i)}, nil) {
				return
			}
		}
	}
	b, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "work", Purpose: work.PurposeWork}, items)
	if err != nil {
		t.Fatal(err)
	}
	truthOf := func(task work.Task) string {
		if l, ok := goldTruth[string(task.Payload)]; ok {
			return l
		}
		i, err := strconv.Atoi(task.ExternalID)
		if err != nil {
			t.Fatalf("task %s has no known truth", task.ID)
		}
		return truth[i]
	}
	// answer is right with probability acc, else another label at random;
	// it draws twice whatever the truth, so that runs repeat exactly.
	answer := func(right string, acc float64) string {
		ok, other := rng.Float64() < acc, rng.IntN(len(coverageLabels)-1)
		if ok {
			return right
		}
		at := slices.Index(coverageLabels, right)
		return coverageLabels[(at+1+other)%len(coverageLabels)]
	}

	ws := workers(t, st, 13)
	rev, crowdWs := ws[0], ws[1:]
	// The reviewer's record: 30 gold answers (a draw of 0 always hands out
	// gold while any is unseen).
	for range 30 {
		a, task, err := d.Claim(ctx, rev.ID, p.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: rev.ID,
			Answer: work.Answer{Label: answer(truthOf(task), reviewer)}, OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt}, dispatch.Decider(p)); err != nil {
			t.Fatal(err)
		}
	}
	acc := make([]float64, len(crowdWs))
	for i := range acc {
		acc[i] = min(0.97, max(0.4, crowd+0.12*(rng.Float64()*2-1)))
	}
	run := coverageRun{tasks: n}
	for {
		idle := 0
		for i, w := range crowdWs {
			a, task, err := d.Claim(ctx, w.ID, p.ID, rng.Float64())
			if errors.Is(err, store.ErrNotFound) {
				idle++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID,
				Answer: work.Answer{Label: answer(truthOf(task), acc[i])}, OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
				SampleDraw: rng.Float64()}, dispatch.Decider(p)); err != nil {
				t.Fatal(err)
			}
			run.answered++
		}
		if idle < len(crowdWs) {
			continue
		}
		queue, err := project.ProjectTasks(ctx, st, p.ID, work.TaskNeedsReview, store.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(queue) == 0 {
			break
		}
		for _, task := range queue {
			if err := d.ResolveAnswer(ctx, task.ID, rev.ID, work.Answer{Label: answer(truthOf(task), reviewer)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err = project.Batch(ctx, st, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.TasksDone != n {
		t.Fatalf("batch has %d of %d tasks done", b.TasksDone, n)
	}
	rep, err := review.BatchQuality(ctx, st, b, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.EstimatedAccuracy == nil {
		t.Fatal("no estimated accuracy")
	}
	run.est, run.audits = *rep.EstimatedAccuracy, rep.EstimatedAccuracy.Sample

	// What the workers' answers settled: the result where it was settled
	// by agreement, the proposal a sampled task went to review with.
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT t.external_id, r.answer FROM tasks t JOIN results r ON r.task_id = t.id
		WHERE t.batch_id = ? AND r.source = ?
		UNION ALL SELECT t.external_id, t.proposed FROM tasks t JOIN audits u ON u.task_id = t.id WHERE t.batch_id = ?`,
		b.ID, work.SourceAgreement, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	settled, right := 0, 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var ext, raw string
		if err := r.Scan(&ext, &raw); err != nil {
			return err
		}
		var res work.Answer
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			return err
		}
		i, _ := strconv.Atoi(ext)
		settled++
		if res.Label == truth[i] {
			right++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run.truth = float64(right) / float64(settled)
	return run
}

// TestIntervalsHold runs simulated batches at three levels of crowd
// accuracy, reviewed by reviewers who slip now and then, and checks that
// the batch's 95 % interval covers the true accuracy of its results in
// at least 90 % of runs. BANYAN_COVERAGE_RUNS sets the runs per level
// (default 17, 51 runs in all; scripts/interval-sweep.sh runs more and
// prints the figures).
func TestIntervalsHold(t *testing.T) {
	if raceEnabled {
		t.Skip("a statistical sweep of some thousand transactions; too slow under the race detector")
	}
	if e := os.Getenv("BANYAN_TEST_ENGINE"); e != "" {
		t.Skipf("BANYAN_TEST_ENGINE=%s: the interval sweep is about statistics, not the engine, and runs on plain SQLite only", e)
	}
	perLevel := 17
	if v := os.Getenv("BANYAN_COVERAGE_RUNS"); v != "" {
		var err error
		if perLevel, err = strconv.Atoi(v); err != nil || perLevel < 1 {
			t.Fatalf("BANYAN_COVERAGE_RUNS=%q: want a whole number of runs per level", v)
		}
	}
	type level struct{ crowd, reviewer float64 }
	levels := []level{{0.6, 0.93}, {0.75, 0.96}, {0.9, 0.99}}
	runs := make([][]coverageRun, len(levels))
	// The runs go two at a time; the group returns when all are done.
	t.Run("runs", func(t *testing.T) {
		for li, lv := range levels {
			runs[li] = make([]coverageRun, perLevel)
			for i := range perLevel {
				t.Run(fmt.Sprintf("crowd %.2f run %d", lv.crowd, i), func(t *testing.T) {
					t.Parallel()
					runs[li][i] = simulateBatch(t, uint64(1000*li+i), lv.crowd, lv.reviewer)
				})
			}
		}
	})
	if t.Failed() {
		return
	}
	held, total := 0, 0
	for li, lv := range levels {
		in, width, truth, audits := 0, 0.0, 0.0, 0
		for _, r := range runs[li] {
			if r.truth >= r.est.Low && r.truth <= r.est.High {
				in++
			} else {
				t.Logf("crowd %.2f: truth %.4f outside %.4f–%.4f (estimate %.4f from %d audits)", lv.crowd, r.truth, r.est.Low, r.est.High, r.est.Value, r.audits)
			}
			width += r.est.High - r.est.Low
			truth += r.truth
			audits += r.audits
		}
		k := float64(len(runs[li]))
		t.Logf("crowd %.2f, reviewer %.2f: %d runs, true accuracy %.3f on average, %.1f audits a run, interval %.3f wide on average, held in %d",
			lv.crowd, lv.reviewer, len(runs[li]), truth/k, float64(audits)/k, width/k, in)
		held += in
		total += len(runs[li])
	}
	if share := float64(held) / float64(total); share < 0.9 {
		t.Fatalf("the 95 %% interval held the truth in %d of %d runs (%.3f), want at least 90 %%", held, total, share)
	}
}

// openFast opens the run's store. The sweep is about statistics, not the
// engine, so it runs on SQLite only, and on a memory file system where
// there is one: a commit's fsync is then free.
func openFast(t *testing.T) *store.Store {
	dir := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "banyan-coverage-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "run.db"), store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
