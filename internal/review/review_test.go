package review_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// newProject makes a classification project (labels a, b, c) of a new client.
func newProject(t *testing.T, st *store.Store, name string, overlap, maxOverlap int, q work.Quality) work.Project {
	t.Helper()
	ctx := context.Background()
	c, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client "+t.Name()+name)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	q.Language, q.Method, q.MinGold = "en", work.MethodMV, 3
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: name, Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60, Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// workers makes n workers of the built-in center.
func workers(t *testing.T, st *store.Store, n int) []auth.User {
	t.Helper()
	out := make([]auth.User, n)
	people := &auth.Service{Store: st}
	for i := range out {
		u, err := people.CreateUser(context.Background(), auth.BuiltinCenterOrgID, fmt.Sprintf("w%03d", i), "worker")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = u
	}
	return out
}

// tasksOf is n work tasks; goldOf is n gold tasks whose answer is label.
func tasksOf(n int) iter.Seq2[project.NewTask, error] { return tasks(n, "item", "") }
func goldOf(n int, label string) iter.Seq2[project.NewTask, error] {
	return tasks(n, "gold", `{"label":"`+label+`"}`)
}

func tasks(n int, text, gold string) iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		for i := range n {
			t := project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"%s %d"}`, text, i))}
			if gold != "" {
				t.Gold = []byte(gold)
			} else {
				t.ExternalID = fmt.Sprint(i)
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}

func TestReviewSampleAudits(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	d := &dispatch.Service{Store: st}
	ctx := context.Background()
	p := newProject(t, st, "audit", 1, 1, work.Quality{ReviewRate: 0.5})
	b, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, tasksOf(4))
	if err != nil {
		t.Fatal(err)
	}
	ws := workers(t, st, 2)
	for i := range 4 {
		a, _, err := d.Claim(ctx, ws[0].ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		draw := 0.9
		if i%2 == 0 {
			draw = 0.1 // sampled
		}
		out, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: ws[0].ID, Answer: work.Answer{Label: "a"}, ReportedMS: 5000, SampleDraw: draw}, dispatch.Decider(p))
		want := work.TaskDone
		if i%2 == 0 {
			want = work.TaskNeedsReview
		}
		if err != nil || out.TaskState != want {
			t.Fatalf("task %d: got %+v, %v; want %s", i, out, err, want)
		}
	}
	queue, _ := project.ProjectTasks(ctx, st, p.ID, work.TaskNeedsReview, store.Page{Limit: 10})
	if len(queue) != 2 || queue[0].ReviewReason != dispatch.ReviewSample {
		t.Fatalf("review queue: %+v", queue)
	}
	// The reviewer agrees once and corrects once.
	d.ResolveAnswer(ctx, queue[0].ID, ws[1].ID, work.Answer{Label: "a"})
	d.ResolveAnswer(ctx, queue[1].ID, ws[1].ID, work.Answer{Label: "c"})
	b, _ = project.Batch(ctx, st, b.ID)
	rep, err := review.BatchQuality(ctx, st, b, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.EstimatedAccuracy == nil || rep.EstimatedAccuracy.Sample != 2 || rep.AuditAgreement != 0.5 {
		t.Fatalf("estimated accuracy: %+v, audit agreement %v; want 1 of 2", rep.EstimatedAccuracy, rep.AuditAgreement)
	}
	// Of four results, two audited and one of those agreed, any share
	// might be right.
	if lo, hi := rep.EstimatedAccuracy.Low, rep.EstimatedAccuracy.High; lo >= 0.5 || hi <= 0.5 {
		t.Fatalf("interval [%v, %v] should surround 0.5", lo, hi)
	}
	if rep.Done != 4 || rep.ReviewedTasks != 2 || len(rep.Workers) != 1 || rep.Workers[0].Answers != 4 {
		t.Fatalf("report: %+v", rep)
	}
	// Agreement: 3 of the worker's 4 answers match the delivered results.
	if rep.AgreementRate != 0.75 {
		t.Fatalf("agreement rate %v, want 0.75", rep.AgreementRate)
	}
	skills, _ := dispatch.Skills(ctx, st, ws[0].ID)
	if len(skills) != 1 || skills[0].Scored != 2 {
		t.Fatalf("the reviews should have scored the worker twice: %+v", skills)
	}
}

// A worker contests a wrong gold answer; upholding it corrects the gold and
// re-scores everyone who answered it.
func TestContestCorrectsGold(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	d := &dispatch.Service{Store: st}
	ctx := context.Background()
	p := newProject(t, st, "contest", 1, 1, work.Quality{GoldRatio: 0.5})
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "w", Purpose: work.PurposeWork}, tasksOf(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "g", Purpose: work.PurposeGold}, goldOf(1, "a")); err != nil { // the truth is really "b"
		t.Fatal(err)
	}
	ws := workers(t, st, 2)
	given := map[string]string{ws[0].ID: "b", ws[1].ID: "a"}
	assignment := map[string]string{}
	for _, w := range ws {
		a, _, err := d.Claim(ctx, w.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: given[w.ID]}, ReportedMS: 5000, SampleDraw: 1}, dispatch.Decider(p))
		if err != nil || !out.Gold {
			t.Fatalf("gold answer: %+v, %v", out, err)
		}
		assignment[w.ID] = a.ID
	}
	misses, err := review.GoldMisses(ctx, st, ws[0].ID, 10)
	if err != nil || len(misses) != 1 || misses[0].Expected.Label != "a" || misses[0].Given.Label != "b" {
		t.Fatalf("gold misses: %+v, %v", misses, err)
	}
	if _, err := review.OpenContest(ctx, st, assignment[ws[1].ID], ws[1].ID, "fine"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("contest of a right answer: got %v, want store.ErrConflict", err)
	}
	if _, err := review.OpenContest(ctx, st, assignment[ws[0].ID], ws[1].ID, "not mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("contest of another's answer: got %v, want store.ErrNotFound", err)
	}
	c, err := review.OpenContest(ctx, st, assignment[ws[0].ID], ws[0].ID, "the post is plainly b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := review.OpenContest(ctx, st, assignment[ws[0].ID], ws[0].ID, "again"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second contest: got %v, want store.ErrConflict", err)
	}
	before := map[string]dispatch.WorkerSkill{}
	for _, w := range ws {
		sk, _ := dispatch.Skills(ctx, st, w.ID)
		before[w.ID] = sk[0]
	}
	corrected := work.Answer{Label: "b"}
	if err := review.DecideContest(ctx, st, c.ID, ws[1].ID, true, &corrected, "checked"); err != nil {
		t.Fatal(err)
	}
	if err := review.DecideContest(ctx, st, c.ID, ws[1].ID, false, nil, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deciding twice: got %v, want store.ErrConflict", err)
	}
	for w, delta := range map[string]float64{ws[0].ID: 1, ws[1].ID: -1} {
		sk, _ := dispatch.Skills(ctx, st, w)
		if sk[0].Alpha != before[w].Alpha+delta || sk[0].Beta != before[w].Beta-delta {
			t.Fatalf("worker %s: alpha/beta %v/%v, want %v/%v", w, sk[0].Alpha, sk[0].Beta, before[w].Alpha+delta, before[w].Beta-delta)
		}
	}
	if misses, _ := review.GoldMisses(ctx, st, ws[0].ID, 10); len(misses) != 0 {
		t.Fatalf("after the correction worker 1 still has misses: %+v", misses)
	}
	if misses, _ := review.GoldMisses(ctx, st, ws[1].ID, 10); len(misses) != 1 {
		t.Fatalf("after the correction worker 2 should have one miss: %+v", misses)
	}
}

// A gold transcript corrected after a contest re-scores the answers by the
// project's text score: an answer one typo away from the corrected line
// becomes right.
func TestContestRescoresTranscripts(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	d := &dispatch.Service{Store: st}
	ctx := context.Background()
	c, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "calls", Kind: work.Transcribe, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 3,
			GoldRatio: 0.5, MaxTextError: 0.05}})
	if err != nil {
		t.Fatal(err)
	}
	one := func(gold string) iter.Seq2[project.NewTask, error] {
		return func(yield func(project.NewTask, error) bool) {
			t := project.NewTask{Payload: []byte(`{"audio_url":"https://example.com/1.ogg"}`), ExternalID: "1"}
			if gold != "" {
				t.Gold, t.ExternalID = []byte(`{"text":"`+gold+`"}`), ""
			}
			yield(t, nil)
		}
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "w", Purpose: work.PurposeWork}, one("")); err != nil {
		t.Fatal(err)
	}
	// The gold line was keyed from the wrong recording.
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "g", Purpose: work.PurposeGold}, one("The meeting is moved to Friday noon.")); err != nil {
		t.Fatal(err)
	}
	w := workers(t, st, 2)
	a, _, err := d.Claim(ctx, w[0].ID, p.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w[0].ID,
		Answer: work.Answer{Text: "Please send the parcel tomorow morning."}, SampleDraw: 1}, dispatch.Decider(p))
	if err != nil || !out.Gold || out.Score != 0 {
		t.Fatalf("gold answer: got %+v, %v; want a gold score of 0", out, err)
	}
	contest, err := review.OpenContest(ctx, st, a.ID, w[0].ID, "the caller asks for the parcel")
	if err != nil {
		t.Fatal(err)
	}
	corrected := work.Answer{Text: "Please send the parcel tomorrow morning."}
	if err := review.DecideContest(ctx, st, contest.ID, w[1].ID, true, &corrected, "re-heard"); err != nil {
		t.Fatal(err)
	}
	if misses, err := review.GoldMisses(ctx, st, w[0].ID, 10); err != nil || len(misses) != 0 {
		t.Fatalf("after the correction: got misses %+v, %v; want none", misses, err)
	}
}
