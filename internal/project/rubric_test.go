package project_test

import (
	"context"
	"reflect"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// A respond project keeps its rubric and review share; one stored before
// projects had rubrics (written with the columns of that time) reads back
// with its overlap as it was and no rubric, so it settles replies by
// agreement as before.
func TestRubricStoredAndOldProjectsHaveNone(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	c, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, err := work.DecodeSchema(work.Respond, []byte(`{"inputs":["question"]}`))
	if err != nil {
		t.Fatal(err)
	}
	rubric := &work.Rubric{Criteria: []work.Criterion{{Name: "accuracy", Scale: work.ScalePassFail},
		{Name: "tone", Scale: work.ScaleOneToFive, Min: 4, Description: "Warm."}}}
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "replies", Kind: work.Respond, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600,
		Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5, ReviewRate: 0.2, Rubric: rubric, ReviewFirst: 20}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := project.Project(ctx, st, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Rubric, rubric) || got.ReviewFirst != 20 || got.ReviewRate != 0.2 {
		t.Fatalf("got rubric %+v, first %d, rate %v; want %+v, 20, 0.2", got.Rubric, got.ReviewFirst, got.ReviewRate, rubric)
	}

	oldID := work.NewID()
	if _, err := st.Exec(ctx, `INSERT INTO projects (id, client_id, name, kind, schema, instructions, overlap, max_overlap, assignment_seconds,
			language, method, confidence_target, gold_ratio, min_accuracy, min_gold, min_answer_ms, review_rate, created_at)
		VALUES (?, ?, 'old replies', 'respond', '{"inputs":["question"]}', '', 2, 3, 600, 'en', 'mv', 0, 0, 0, 5, 0, 0.1, ?)`,
		oldID, c.ID, store.TimeText(st.Now())); err != nil {
		t.Fatal(err)
	}
	old, err := project.Project(ctx, st, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Rubric != nil || old.ReviewFirst != 0 || old.Overlap != 2 || old.MaxOverlap != 3 || old.ReviewRate != 0.1 {
		t.Fatalf("an old respond project: rubric %+v, first %d, overlap %d/%d, rate %v; want no rubric, 0, 2/3, 0.1",
			old.Rubric, old.ReviewFirst, old.Overlap, old.MaxOverlap, old.ReviewRate)
	}
}
