package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/work"
)

// textProject makes a transcribe project of a new client.
func textProject(t *testing.T, s *tstore, name string, overlap, maxOverlap int, q work.Quality) work.Project {
	t.Helper()
	c := newOrg(t, s, "client", "client "+t.Name()+name)
	schema, err := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	if err != nil {
		t.Fatal(err)
	}
	q.Language, q.Method, q.MinGold = "en", work.MethodMV, 3
	p, err := project.CreateProject(context.Background(), s.Store, work.Project{ClientID: c.ID, Name: name, Kind: work.Transcribe,
		Schema: schema, Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60, Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// audioTask is a batch of one transcribe task; with a known answer it is
// gold.
func audioTask(n int, gold string) iter.Seq2[project.NewTask, error] {
	t := project.NewTask{Payload: []byte(fmt.Sprintf(`{"audio_url":"https://example.com/%d.ogg"}`, n))}
	if gold != "" {
		t.Gold, _ = json.Marshal(work.Answer{Text: gold})
	} else {
		t.ExternalID = fmt.Sprint(n)
	}
	return func(yield func(project.NewTask, error) bool) { yield(t, nil) }
}

// The one text score decides everywhere a transcription is compared: a
// one-letter typo in a 40-character reference scores right, a different
// sentence wrong, and the project's max_text_error moves the line, alike
// when the task settles, when a gold answer is scored, when a reviewer's
// verdict scores the workers and when a sampled task's audit is recorded.
func TestTextScoreEverywhere(t *testing.T) {
	t.Parallel()
	const reference = "Please send the parcel tomorrow morning." // 40 characters
	tests := []struct {
		name     string
		given    string
		maxError float64
		right    bool
	}{
		{"one letter dropped", "Please send the parcel tomorow morning.", 0.05, true},
		{"one letter wrong", "Please send the parcel tomorrow mornimg.", 0.05, true},
		{"a different sentence", "The meeting is moved to Friday noon.", 0.05, false},
		{"three letters off", "Plase send the parcel tomorow mornin.", 0.05, false},
		{"three letters off, max_text_error 0.1", "Plase send the parcel tomorow mornin.", 0.1, true},
		{"one letter dropped, max_text_error 0.02", "Please send the parcel tomorow morning.", 0.02, false},
	}
	s, _ := newStore(t)
	ctx := context.Background()
	people := 0
	person := func(t *testing.T) testUser {
		people++
		return newUser(t, s, auth.BuiltinCenterOrgID, fmt.Sprintf("person %d", people), "worker")
	}
	for i, tc := range tests {
		want := 0.0
		if tc.right {
			want = 1
		}
		// Settling: two answers, the reference and the given text, settle
		// only when they agree (max_overlap 2: otherwise review).
		t.Run(tc.name+"/settle", func(t *testing.T) {
			p := textProject(t, s, fmt.Sprint("settle ", i), 2, 2, work.Quality{MaxTextError: tc.maxError})
			if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, audioTask(i, "")); err != nil {
				t.Fatal(err)
			}
			var out SubmitOutcome
			for j, text := range []string{reference, tc.given} {
				w := person(t)
				a, _, err := s.Claim(ctx, w.ID, p.ID, 1)
				if err != nil {
					t.Fatal(err)
				}
				out, err = s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Text: text}, SampleDraw: 1}, Decider(p))
				if err != nil {
					t.Fatalf("answer %d: %v", j, err)
				}
			}
			if got := out.TaskState == work.TaskDone; got != tc.right {
				t.Fatalf("got task %s, want settled %v", out.TaskState, tc.right)
			}
		})
		// Gold, review scoring and the audit: one project with gold mixed
		// in and every settled task sampled for review.
		p := textProject(t, s, fmt.Sprint("review ", i), 1, 1, work.Quality{MaxTextError: tc.maxError, GoldRatio: 0.5, ReviewRate: 1})
		if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, audioTask(i, "")); err != nil {
			t.Fatal(err)
		}
		if _, err := project.CreateBatch(ctx, s.Store, p, project.BatchSpec{Name: "g", Purpose: work.PurposeGold}, audioTask(i, reference)); err != nil {
			t.Fatal(err)
		}
		t.Run(tc.name+"/gold", func(t *testing.T) {
			w := person(t)
			a, _, err := s.Claim(ctx, w.ID, p.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Text: tc.given}, SampleDraw: 1}, Decider(p))
			if err != nil || !out.Gold {
				t.Fatalf("got %+v, %v; want a gold answer", out, err)
			}
			if out.Score != want {
				t.Fatalf("got gold score %v, want %v", out.Score, want)
			}
		})
		w := person(t)
		a, task, err := s.Claim(ctx, w.ID, p.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Text: tc.given}, SampleDraw: 0}, Decider(p))
		if err != nil || out.TaskState != work.TaskNeedsReview {
			t.Fatalf("%s: sampled answer: got %+v, %v; want the task in review", tc.name, out, err)
		}
		reviewer := person(t)
		if err := s.ResolveAnswer(ctx, task.ID, reviewer.ID, work.Answer{Text: reference}); err != nil {
			t.Fatalf("%s: resolve: %v", tc.name, err)
		}
		t.Run(tc.name+"/review", func(t *testing.T) {
			skills, err := Skills(ctx, s.Store, w.ID)
			if err != nil || len(skills) != 1 {
				t.Fatalf("got skills %+v, %v; want one", skills, err)
			}
			// The prior is Beta(3, 1): a right answer adds to alpha, a
			// wrong one to beta.
			if got := skills[0].Alpha - 3; got != want {
				t.Fatalf("got the review verdict scoring %v, want %v", got, want)
			}
		})
		t.Run(tc.name+"/audit", func(t *testing.T) {
			var agreed float64
			if err := s.queryRow(`SELECT agreed FROM audits WHERE task_id = ?`, task.ID).Scan(&agreed); err != nil {
				t.Fatal(err)
			}
			if agreed != want {
				t.Fatalf("got audit agreed %v, want %v", agreed, want)
			}
		})
	}
}
