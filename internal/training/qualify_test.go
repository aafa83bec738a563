package training_test

import (
	"banyan/internal/quality"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// qualification makes a two-item qualification for classify in Hindi,
// passed with both right, with a cool-down of an hour.
func qualification(t *testing.T, s *store.Store) work.Course {
	t.Helper()
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	c, err := training.CreateCourse(context.Background(), s, work.Course{Name: "test", Purpose: work.Qualification, Kind: work.Classify,
		Language: "hi", Schema: schema, PassMark: 1, CooldownSeconds: 3600}, func(yield func(training.CourseItemIn, error) bool) {
		for _, label := range []string{"a", "b"} {
			if !yield(training.CourseItemIn{Payload: []byte(`{"text":"` + label + `"}`), Answer: []byte(`{"label":"` + label + `"}`),
				Explanation: "as written"}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// take answers every item of a fresh attempt with label and returns the
// attempt as it ends.
func take(t *testing.T, s *store.Store, c work.Course, workerID, label string) work.Attempt {
	t.Helper()
	ctx := context.Background()
	a, err := training.StartAttempt(ctx, s, c.ID, workerID)
	if err != nil {
		t.Fatal(err)
	}
	for {
		it, err := training.NextItem(ctx, s, a.ID)
		if errors.Is(err, store.ErrNotFound) {
			return a
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := training.AnswerItem(ctx, s, a.ID, workerID, it.ID, work.Answer{Label: label})
		if err != nil {
			t.Fatal(err)
		}
		a = out.Attempt
	}
}

// A qualification failed starts its cool-down; passed, it grants the
// skill. A suspension by hand and a reinstatement change it again, and a
// village center's worker's center hears of each on its feed.
func TestQualificationGrantsTheSkill(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	center, err := (&auth.Service{Store: s}).CreateOrg(ctx, auth.OrgCenter, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	w, err := (&auth.Service{Store: s}).CreateUser(ctx, center.ID, "ravi", "worker")
	if err != nil {
		t.Fatal(err)
	}
	c := qualification(t, s)
	if a := take(t, s, c, w.ID, "a"); a.State != work.AttemptFailed || a.Answered != 2 || a.RetryAfter == nil {
		t.Fatalf("half right: %+v; want failed, with a time to retry", a)
	}
	if _, err := training.StartAttempt(ctx, s, c.ID, w.ID); !errors.Is(err, training.ErrCoolingDown) {
		t.Fatalf("again at once: %v; want the cool-down", err)
	}
	clk.Add(time.Hour)
	a, err := training.StartAttempt(ctx, s, c.ID, w.ID)
	if err != nil || a.State != work.AttemptOpen {
		t.Fatalf("after the cool-down: %+v %v; want a fresh attempt", a, err)
	}
	for _, label := range []string{"a", "b"} {
		it, err := training.NextItem(ctx, s, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var payload struct{ Text string }
		json.Unmarshal(it.Payload, &payload)
		out, err := training.AnswerItem(ctx, s, a.ID, w.ID, it.ID, work.Answer{Label: payload.Text})
		if err != nil || out.Score != 1 || out.Expected.Label != label || out.Explanation != "as written" {
			t.Fatalf("item %s: %+v %v", label, out, err)
		}
		a = out.Attempt
	}
	if a.State != work.AttemptPassed {
		t.Fatalf("all right: %+v; want passed", a)
	}
	if last, err := training.LastAttempt(ctx, s, c.ID, w.ID); err != nil || last.ID != a.ID {
		t.Fatalf("last attempt: %+v %v", last, err)
	}
	skill := func() dispatch.WorkerSkill {
		t.Helper()
		sk, err := dispatch.Skills(ctx, s, w.ID)
		if err != nil || len(sk) != 1 {
			t.Fatalf("skills: %+v %v", sk, err)
		}
		return sk[0]
	}
	if sk := skill(); sk.Status != dispatch.SkillActive || !sk.Qualified || sk.Language != "hi" {
		t.Fatalf("after passing: %+v", sk)
	}
	// The passing attempt's two items, both right, are two gold answers in
	// the record (the failed attempt is not).
	if sk := skill(); sk.Scored != 2 || sk.Alpha != quality.SkillPrior.Alpha+2 || sk.Beta != quality.SkillPrior.Beta {
		t.Fatalf("after passing: scored %d, Beta(%v, %v); want 2 gold answers on the prior", sk.Scored, sk.Alpha, sk.Beta)
	}
	if err := training.Suspend(ctx, s, w.ID, "classify", "hi", "copied answers"); err != nil {
		t.Fatal(err)
	}
	if sk := skill(); sk.Status != dispatch.SkillSuspended || sk.Reason != "copied answers" {
		t.Fatalf("after the suspension: %+v", sk)
	}
	if err := training.Reinstate(ctx, s, w.ID, "classify", "hi"); err != nil {
		t.Fatal(err)
	}
	if sk := skill(); sk.Status != dispatch.SkillActive || sk.Scored != 0 {
		t.Fatalf("after the reinstatement: %+v", sk)
	}
	if err := training.Reinstate(ctx, s, w.ID, "classify", "hi"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reinstating an active skill: %v; want not found", err)
	}
	events, _, _, err := feed.Kinds{}.Read(ctx, s, center.ID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		var f dispatch.FeedSkill
		json.Unmarshal(e.Body, &f)
		got = append(got, e.Kind+":"+f.Status)
	}
	want := []string{"course:", "skill:active", "skill:suspended", "skill:active"}
	if len(got) != len(want) {
		t.Fatalf("the center's feed: %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("the center's feed: %v; want %v", got, want)
		}
	}
}

// A center starting afresh gets every course and its workers' skills; a
// qualification's answers stay on the hub. Applied at the center, the
// courses can be taken there, and the hub's verdict on an attempt made
// there is kept.
func TestCoursesReachACenter(t *testing.T) {
	t.Parallel()
	hub, _ := newStore(t)
	ctx := context.Background()
	center, err := (&auth.Service{Store: hub}).CreateOrg(ctx, auth.OrgCenter, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	w, err := (&auth.Service{Store: hub}).CreateUser(ctx, center.ID, "ravi", "worker")
	if err != nil {
		t.Fatal(err)
	}
	taught, tested := course(t, hub), qualification(t, hub)
	if err := training.Suspend(ctx, hub, w.ID, "classify", "en", "copied answers"); err != nil {
		t.Fatal(err)
	}
	up := feed.Kinds{
		{Name: "skill", Snapshot: feed.SnapshotOf(training.SkillSnapshot)},
		{Name: "course", Snapshot: feed.SnapshotOf(training.CourseSnapshot)},
	}
	events, next, reset, err := up.Read(ctx, hub, center.ID, 0, 100)
	if err != nil || !reset || len(events) != 3 || events[0].Kind != "skill" {
		t.Fatalf("snapshot: %d events, reset %v, %v", len(events), reset, err)
	}
	for _, e := range events[1:] {
		var f training.FeedCourse
		if err := json.Unmarshal(e.Body, &f); err != nil || e.Kind != "course" {
			t.Fatalf("snapshot event %s: %v", e.Kind, err)
		}
		for _, it := range f.Items {
			if f.ID == tested.ID && (len(it.Answer) != 0 || it.Explanation != "") {
				t.Fatalf("a qualification item went down with its answer: %+v", it)
			}
			if f.ID == taught.ID && len(it.Answer) == 0 {
				t.Fatalf("a training item went down without its answer: %+v", it)
			}
		}
	}

	at, clk, worker := centerStore(t)
	down := feed.Kinds{
		{Name: "skill", Clear: training.ClearSkills, Apply: feed.ApplyOf(training.ApplySkill)},
		{Name: "course", Apply: feed.ApplyOf(training.ApplyCourse)},
		{Name: "attempt", Apply: feed.ApplyOf(training.ApplyAttempt)},
	}
	if err := down.Apply(ctx, at, events, next, reset); err != nil {
		t.Fatal(err)
	}
	var suspended int
	at.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM center_skills WHERE worker_id = ? AND status = 'suspended'`, w.ID).Scan(&suspended)
	if suspended != 1 {
		t.Fatalf("%d suspensions kept at the center; want 1", suspended)
	}
	if cs, err := training.Courses(ctx, at, store.Page{Limit: 10}); err != nil || len(cs) != 2 {
		t.Fatalf("courses at the center: %+v %v", cs, err)
	}
	a, err := training.StartAttempt(ctx, at, tested.ID, worker)
	if err != nil {
		t.Fatal(err)
	}
	for {
		it, err := training.NextItem(ctx, at, a.ID)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		out, err := training.CenterAnswerItem(ctx, at, a.ID, worker, it.ID, work.Answer{Label: "a"})
		if err != nil {
			t.Fatal(err)
		}
		a = out.Attempt
	}
	if a.State != work.AttemptDone || a.Score != 0 {
		t.Fatalf("a qualification finished at the center: %+v; want done, unscored until the hub scores it", a)
	}
	rows, _ := (&uplink.Outbox{Store: at}).Pending(ctx, 100)
	var answers int
	for _, r := range rows {
		if r.Kind == wire.KindAttemptAnswer {
			answers++
		}
	}
	if answers != 2 {
		t.Fatalf("%d course answers in the outbox; want 2", answers)
	}
	finished := clk.Now()
	verdict, _ := json.Marshal(work.Attempt{ID: a.ID, State: work.AttemptFailed, Score: 1, Answered: 2, FinishedAt: &finished})
	if err := down.Apply(ctx, at, []wire.FeedEvent{{Seq: next, Kind: "attempt", Body: verdict}}, next+1, false); err != nil {
		t.Fatal(err)
	}
	if got, err := training.Attempt(ctx, at, a.ID); err != nil || got.State != work.AttemptFailed || got.Score != 1 || got.RetryAfter == nil {
		t.Fatalf("the hub's verdict at the center: %+v %v", got, err)
	}
}
