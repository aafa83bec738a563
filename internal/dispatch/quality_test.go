package dispatch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

func qualityProject(t *testing.T, s *tstore, name string, overlap, maxOverlap int, q work.Quality) work.Project {
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
	p, err := project.CreateProject(ctx, s.Store, work.Project{ClientID: c.ID, Name: name, Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60, Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func goldOf(n int, label string) iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"gold %d"}`, i)), Gold: []byte(`{"label":"` + label + `"}`)}, nil) {
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
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "work", Purpose: work.PurposeWork}, tasksOf(10)); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, goldOf(5, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, other, project.BatchSpec{Name: "work", Purpose: work.PurposeWork}, tasksOf(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "mixed", Purpose: work.PurposeWork}, goldOf(1, "a")); err == nil {
		t.Fatalf("a work batch with a known answer: got nil error")
	}
	w := workers(t, s, 1)[0]
	// Draw above the ratio: ordinary work.
	a, task, err := s.Claim(ctx, w.ID, p.ID, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5000, SampleDraw: 1}, majority(p))
	if err != nil || out.Gold {
		t.Fatalf("ordinary task: got %+v, %v", out, err)
	}
	if _, err := project.Task(ctx, s.Store, task.ID); err != nil {
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
		out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "b"}, ReportedMS: 5000, SampleDraw: 1}, majority(p))
		if err != nil || !out.Gold || out.Score != 0 {
			t.Fatalf("gold answer %d: got %+v, %v; want a gold score of 0", i, out, err)
		}
	}
	skills, err := Skills(ctx, s.Store, w.ID)
	if err != nil || len(skills) != 1 {
		t.Fatalf("skills: %+v, %v", skills, err)
	}
	sk := skills[0]
	if sk.Status != SkillSuspended || sk.Scored != 3 || sk.Reason == "" || sk.Accuracy > 0.6 {
		t.Fatalf("after 3 wrong gold answers: %+v, want suspended with a reason", sk)
	}
	// No more work from the suspended skill, but the other project's skill
	// (another language) is still open to the worker.
	if _, _, err := s.Claim(ctx, w.ID, p.ID, 0.5); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim in a suspended skill: got %v, want store.ErrNotFound", err)
	}
	_, task, err = s.Claim(ctx, w.ID, "", 0.5)
	if err != nil || task.ProjectID != other.ID {
		t.Fatalf("claim with one skill suspended: got %v in %s, want a task of the other project", err, task.ProjectID)
	}
	// Gold never shows in results or batch progress of work.
	res, _ := project.Results(ctx, s.Store, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 100})
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
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, goldOf(5, "a")); err != nil {
		t.Fatal(err)
	}
	w := workers(t, s, 1)[0]
	if _, _, err := s.Claim(ctx, w.ID, "", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want store.ErrNotFound when only gold is left", err)
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
	if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(1)); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, s, 3)
	a, task, _ := s.Claim(ctx, ws[0].ID, "", 1)
	clk.Add(300 * time.Millisecond)
	// Posted at once, claiming a minute of work.
	out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"},
		OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, ReportedMS: 60000, SampleDraw: 1}, majority(p))
	if err != nil || out.Counted || out.Flag != work.FlagTooFast {
		t.Fatalf("fast answer reported as a minute: got %+v, %v; want flagged and not counted", out, err)
	}
	var measured, reported int64
	s.queryRow(`SELECT duration_ms, reported_ms FROM assignments WHERE id = ?`, a.ID).Scan(&measured, &reported)
	if measured != 300 || reported != 60000 {
		t.Fatalf("got %d ms measured and %d reported; want 300 measured, 60000 kept as reported", measured, reported)
	}
	got, _ := project.Task(ctx, s.Store, task.ID)
	if got.Answers != 0 || got.Wanted != 3 {
		t.Fatalf("after a flagged answer: %d answers, wanting %d; want 0 and 3", got.Answers, got.Wanted)
	}
	for _, w := range ws[1:] {
		a, _, err := s.Claim(ctx, w.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		// Reported as instant, measured as 25 s: it counts.
		clk.Add(25 * time.Second)
		s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "b"},
			OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, ReportedMS: 1, SampleDraw: 1}, majority(p))
	}
	got, _ = project.Task(ctx, s.Store, task.ID)
	res, _ := project.Results(ctx, s.Store, project.ResultScope{ProjectID: p.ID}, store.Page{Limit: 10})
	if got.State != work.TaskDone || len(res) != 1 || res[0].Answer.Label != "b" || res[0].Answers != 2 {
		t.Fatalf("got %s with %+v; want done on b from the 2 counted answers", got.State, res)
	}
}

// Sampled tasks wait for a blind review; the verdict is an audit that the
// quality report turns into an interval, and it scores the workers.
