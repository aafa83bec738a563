package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"banyan/internal/work"
)

func qualityProject(t *testing.T, s *Store, name string, overlap, maxOverlap int, q work.Quality) work.Project {
	t.Helper()
	ctx := context.Background()
	c := newOrg(t, s, "client", "client "+t.Name()+name)
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	if q.Language == "" {
		q.Language = "en"
	}
	if q.Method == "" {
		q.Method = work.MethodMV
	}
	if q.MinGold == 0 {
		q.MinGold = 3
	}
	p, err := s.CreateProject(ctx, work.Project{ClientID: c.ID, Name: name, Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60, Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func goldOf(n int, label string) iter.Seq2[NewTask, error] {
	return func(yield func(NewTask, error) bool) {
		for i := range n {
			if !yield(NewTask{Payload: []byte(fmt.Sprintf(`{"text":"gold %d"}`, i)), Gold: []byte(`{"label":"` + label + `"}`)}, nil) {
				return
			}
		}
	}
}

// Gold tasks come when the draw falls under the ratio, are scored, feed the
// worker's skill, and a worker who keeps failing them is suspended from the
// skill and gets no more of its tasks.
func TestGoldScoresAndSuspends(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := qualityProject(t, s, "gold", 1, 1, work.Quality{GoldRatio: 0.2, MinAccuracy: 0.6, MinGold: 3})
	other := qualityProject(t, s, "other", 1, 1, work.Quality{Language: "hi"})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "work", Purpose: work.PurposeWork}, tasksOf(10)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "gold", Purpose: work.PurposeGold}, goldOf(5, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, other, BatchSpec{Name: "work", Purpose: work.PurposeWork}, tasksOf(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "mixed", Purpose: work.PurposeWork}, goldOf(1, "a")); err == nil {
		t.Fatalf("a work batch with a known answer: got nil error")
	}
	w := workers(t, s, 1)[0]
	// Draw above the ratio: ordinary work.
	a, task, err := s.Claim(ctx, w.ID, p.ID, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5000, SampleDraw: 1}, majority(p))
	if err != nil || out.Gold {
		t.Fatalf("ordinary task: got %+v, %v", out, err)
	}
	if _, err := s.Task(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	// Draws under the ratio: gold, each answered wrong.
	seen := map[string]bool{}
	for i := range 3 {
		a, task, err := s.Claim(ctx, w.ID, p.ID, 0.1)
		if err != nil {
			t.Fatalf("gold claim %d: %v", i, err)
		}
		if seen[task.ID] {
			t.Fatalf("gold task %s handed to the same worker twice", task.ID)
		}
		seen[task.ID] = true
		out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5000, SampleDraw: 1}, majority(p))
		if err != nil || !out.Gold || out.Score != 0 {
			t.Fatalf("gold answer %d: got %+v, %v; want a gold score of 0", i, out, err)
		}
	}
	skills, err := s.Skills(ctx, w.ID)
	if err != nil || len(skills) != 1 {
		t.Fatalf("skills: %+v, %v", skills, err)
	}
	sk := skills[0]
	if sk.Status != SkillSuspended || sk.Scored != 3 || sk.Reason == "" || sk.Accuracy > 0.6 {
		t.Fatalf("after 3 wrong gold answers: %+v, want suspended with a reason", sk)
	}
	// No more work from the suspended skill, but the other project's skill
	// (another language) is still open to the worker.
	if _, _, err := s.Claim(ctx, w.ID, p.ID, 0.5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim in a suspended skill: got %v, want ErrNotFound", err)
	}
	_, task, err = s.Claim(ctx, w.ID, "", 0.5)
	if err != nil || task.ProjectID != other.ID {
		t.Fatalf("claim with one skill suspended: got %v in %s, want a task of the other project", err, task.ProjectID)
	}
	// Gold never shows in results or batch progress of work.
	res, _ := s.Results(ctx, ResultScope{ProjectID: p.ID}, Page{Limit: 100})
	if len(res) != 1 {
		t.Fatalf("got %d results, want only the one ordinary task", len(res))
	}
}

// With no work left, gold is not handed out on its own.
func TestGoldOnlyMixesIn(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := qualityProject(t, s, "gold", 1, 1, work.Quality{GoldRatio: 0.5})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "gold", Purpose: work.PurposeGold}, goldOf(5, "a")); err != nil {
		t.Fatal(err)
	}
	w := workers(t, s, 1)[0]
	if _, _, err := s.Claim(ctx, w.ID, "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound when only gold is left", err)
	}
}

// The fast-answer guard reads the time the server measured from the offer
// to the answer; what the worker's client reports cannot lift an answer
// over the floor.
func TestTooFastAnswersDoNotCount(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	p := qualityProject(t, s, "fast", 2, 3, work.Quality{MinAnswerMS: 20000})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 3)
	a, task, _ := s.Claim(ctx, ws[0].ID, "", 1)
	clk.add(300 * time.Millisecond)
	// Posted at once, claiming a minute of work.
	out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"},
		OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, ReportedMS: 60000, SampleDraw: 1}, majority(p))
	if err != nil || out.Counted || out.Flag != work.FlagTooFast {
		t.Fatalf("fast answer reported as a minute: got %+v, %v; want flagged and not counted", out, err)
	}
	var measured, reported int64
	s.r.QueryRow(`SELECT duration_ms, reported_ms FROM assignments WHERE id = ?`, a.ID).Scan(&measured, &reported)
	if measured != 300 || reported != 60000 {
		t.Fatalf("got %d ms measured and %d reported; want 300 measured, 60000 kept as reported", measured, reported)
	}
	got, _ := s.Task(ctx, task.ID)
	if got.Answers != 0 || got.Wanted != 3 {
		t.Fatalf("after a flagged answer: %d answers, wanting %d; want 0 and 3", got.Answers, got.Wanted)
	}
	for _, w := range ws[1:] {
		a, _, err := s.Claim(ctx, w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		// Reported as instant, measured as 25 s: it counts.
		clk.add(25 * time.Second)
		s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "b"},
			OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, ReportedMS: 1, SampleDraw: 1}, majority(p))
	}
	got, _ = s.Task(ctx, task.ID)
	res, _ := s.Results(ctx, ResultScope{ProjectID: p.ID}, Page{Limit: 10})
	if got.State != work.TaskDone || len(res) != 1 || res[0].Answer.Label != "b" || res[0].Answers != 2 {
		t.Fatalf("got %s with %+v; want done on b from the 2 counted answers", got.State, res)
	}
}

// Sampled tasks wait for a blind review; the verdict is an audit that the
// quality report turns into an interval, and it scores the workers.
func TestReviewSampleAudits(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := qualityProject(t, s, "audit", 1, 1, work.Quality{ReviewRate: 0.5})
	b, err := s.CreateBatch(ctx, p, BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(4))
	if err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	for i := range 4 {
		a, _, err := s.Claim(ctx, ws[0].ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		draw := 0.9
		if i%2 == 0 {
			draw = 0.1 // sampled
		}
		out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5000, SampleDraw: draw}, majority(p))
		want := work.TaskDone
		if i%2 == 0 {
			want = work.TaskNeedsReview
		}
		if err != nil || out.TaskState != want {
			t.Fatalf("task %d: got %+v, %v; want %s", i, out, err, want)
		}
	}
	queue, _ := s.ProjectTasks(ctx, p.ID, work.TaskNeedsReview, Page{Limit: 10})
	if len(queue) != 2 || queue[0].ReviewReason != ReviewSample {
		t.Fatalf("review queue: %+v", queue)
	}
	// The reviewer agrees once and corrects once.
	s.Resolve(ctx, queue[0].ID, ws[1].ID, work.Answer{Label: "a"})
	s.Resolve(ctx, queue[1].ID, ws[1].ID, work.Answer{Label: "c"})
	b, _ = s.Batch(ctx, b.ID)
	rep, err := s.BatchQuality(ctx, b, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.EstimatedAccuracy == nil || rep.EstimatedAccuracy.Sample != 2 || rep.EstimatedAccuracy.Value != 0.5 {
		t.Fatalf("estimated accuracy: %+v, want 1 of 2", rep.EstimatedAccuracy)
	}
	if lo, hi := rep.EstimatedAccuracy.Low, rep.EstimatedAccuracy.High; lo <= 0 || hi >= 1 || lo >= 0.5 || hi <= 0.5 {
		t.Fatalf("interval [%v, %v] should surround 0.5 inside (0, 1)", lo, hi)
	}
	if rep.Done != 4 || rep.ReviewedTasks != 2 || len(rep.Workers) != 1 || rep.Workers[0].Answers != 4 {
		t.Fatalf("report: %+v", rep)
	}
	// Agreement: 3 of the worker's 4 answers match the delivered results.
	if rep.AgreementRate != 0.75 {
		t.Fatalf("agreement rate %v, want 0.75", rep.AgreementRate)
	}
	skills, _ := s.Skills(ctx, ws[0].ID)
	if len(skills) != 1 || skills[0].Scored != 2 {
		t.Fatalf("the reviews should have scored the worker twice: %+v", skills)
	}
}

// A worker contests a wrong gold answer; upholding it corrects the gold and
// re-scores everyone who answered it.
func TestContestCorrectsGold(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	p := qualityProject(t, s, "contest", 1, 1, work.Quality{GoldRatio: 0.5})
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "w", Purpose: work.PurposeWork}, tasksOf(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, p, BatchSpec{Name: "g", Purpose: work.PurposeGold}, goldOf(1, "a")); err != nil { // the truth is really "b"
		t.Fatal(err)
	}
	ws := workers(t, s, 2)
	given := map[string]string{ws[0].ID: "b", ws[1].ID: "a"}
	assignment := map[string]string{}
	for _, w := range ws {
		a, _, err := s.Claim(ctx, w.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Submit(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: given[w.ID]}, ReportedMS: 5000, SampleDraw: 1}, majority(p))
		if err != nil || !out.Gold {
			t.Fatalf("gold answer: %+v, %v", out, err)
		}
		assignment[w.ID] = a.ID
	}
	misses, err := s.GoldMisses(ctx, ws[0].ID, 10)
	if err != nil || len(misses) != 1 || misses[0].Expected.Label != "a" || misses[0].Given.Label != "b" {
		t.Fatalf("gold misses: %+v, %v", misses, err)
	}
	if _, err := s.OpenContest(ctx, assignment[ws[1].ID], ws[1].ID, "fine"); !errors.Is(err, ErrConflict) {
		t.Fatalf("contest of a right answer: got %v, want ErrConflict", err)
	}
	if _, err := s.OpenContest(ctx, assignment[ws[0].ID], ws[1].ID, "not mine"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("contest of another's answer: got %v, want ErrNotFound", err)
	}
	c, err := s.OpenContest(ctx, assignment[ws[0].ID], ws[0].ID, "the post is plainly b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenContest(ctx, assignment[ws[0].ID], ws[0].ID, "again"); !errors.Is(err, ErrConflict) {
		t.Fatalf("second contest: got %v, want ErrConflict", err)
	}
	before := map[string]WorkerSkill{}
	for _, w := range ws {
		sk, _ := s.Skills(ctx, w.ID)
		before[w.ID] = sk[0]
	}
	corrected := work.Answer{Label: "b"}
	if err := s.DecideContest(ctx, c.ID, ws[1].ID, true, &corrected, "checked"); err != nil {
		t.Fatal(err)
	}
	if err := s.DecideContest(ctx, c.ID, ws[1].ID, false, nil, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("deciding twice: got %v, want ErrConflict", err)
	}
	for w, delta := range map[string]float64{ws[0].ID: 1, ws[1].ID: -1} {
		sk, _ := s.Skills(ctx, w)
		if sk[0].Alpha != before[w].Alpha+delta || sk[0].Beta != before[w].Beta-delta {
			t.Fatalf("worker %s: alpha/beta %v/%v, want %v/%v", w, sk[0].Alpha, sk[0].Beta, before[w].Alpha+delta, before[w].Beta-delta)
		}
	}
	if misses, _ := s.GoldMisses(ctx, ws[0].ID, 10); len(misses) != 0 {
		t.Fatalf("after the correction worker 1 still has misses: %+v", misses)
	}
	if misses, _ := s.GoldMisses(ctx, ws[1].ID, 10); len(misses) != 1 {
		t.Fatalf("after the correction worker 2 should have one miss: %+v", misses)
	}
}
