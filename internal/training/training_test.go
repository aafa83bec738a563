package training_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// newStore is a hub's store on a clock of the test's own, on the engine
// the run names.
func newStore(t *testing.T) (*store.Store, *storetest.Clock) {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	return storetest.Open(t, store.Options{Now: c.Now}), c
}

// centerStore is a village center's store on its own clock, holding one
// leased task with two places, and one enrolled worker.
func centerStore(t *testing.T) (*store.Store, *storetest.Clock, string) {
	t.Helper()
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	s := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox, Now: clk.Now})
	centerID := work.NewID()
	if err := (&auth.Service{Store: s}).EnsureCenterOrg(ctx, centerID, "Melur"); err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := wire.Project{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	grants := []wire.Grant{{LeaseID: work.NewID(), TaskKey: "k", Project: proj, Epoch: 1, Slots: 2,
		Payload: []byte(`{"text":"x"}`)}}
	if err := (&center.Local{Store: s}).SaveGrants(ctx, 72*time.Hour, grants); err != nil {
		t.Fatal(err)
	}
	u, err := (&auth.Service{Store: s}).EnrolAtCenter(ctx, centerID, "asha", "worker")
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, u.ID
}

// course makes a one-item training course.
func course(t *testing.T, s *store.Store) work.Course {
	t.Helper()
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	c, err := training.CreateCourse(context.Background(), s, work.Course{Name: "basics", Purpose: work.Training, Kind: work.Classify, Language: "en",
		Schema: schema, PassMark: 0.5}, func(yield func(training.CourseItemIn, error) bool) {
		yield(training.CourseItemIn{Payload: []byte(`{"text":"x"}`), Answer: []byte(`{"label":"a"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// courseTaskAndWorker makes a training course, a client's classify
// project with one task, and a worker.
func courseTaskAndWorker(t *testing.T, s *store.Store) (work.Course, work.Project, auth.User) {
	t.Helper()
	ctx := context.Background()
	c := course(t, s)
	client, err := (&auth.Service{Store: s}).CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	p, err := project.CreateProject(ctx, s, work.Project{ClientID: client.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, s, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{ExternalID: "0", Payload: []byte(`{"text":"item 0"}`)}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	return c, p, worker(t, s, "w000")
}

// worker makes one of the hub's own workers.
func worker(t *testing.T, s *store.Store, name string) auth.User {
	t.Helper()
	u, err := (&auth.Service{Store: s}).CreateUser(context.Background(), auth.BuiltinCenterOrgID, name, "worker")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A transcription course scores its items as projects score gold: a typo
// in a 40-character line is right (at the default max_text_error, 0.05),
// a different line wrong.
func TestTranscriptionItemsScoreByCharacterErrors(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	schema, _ := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	const line = "Please send the parcel tomorrow morning." // 40 characters
	c, err := training.CreateCourse(ctx, s, work.Course{Name: "listening", Purpose: work.Training, Kind: work.Transcribe, Language: "en",
		Schema: schema, PassMark: 0.5}, func(yield func(training.CourseItemIn, error) bool) {
		yield(training.CourseItemIn{Payload: []byte(`{"audio_url":"https://example.com/1.ogg"}`), Answer: []byte(`{"text":"` + line + `"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, given string
		want        float64
	}{
		{"one letter dropped", "Please send the parcel tomorow morning.", 1},
		{"a different line", "The meeting is moved to Friday noon.", 0},
	}
	for i, tc := range tests {
		w := worker(t, s, fmt.Sprint("listener ", i))
		at, err := training.StartAttempt(ctx, s, c.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		it, err := training.NextItem(ctx, s, at.ID)
		if err != nil {
			t.Fatal(err)
		}
		out, err := training.AnswerItem(ctx, s, at.ID, w.ID, it.ID, work.Answer{Text: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		if out.Score != tc.want {
			t.Fatalf("%s: got score %v, want %v", tc.name, out.Score, tc.want)
		}
	}
}
