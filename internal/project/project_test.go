package project_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// newProject makes a client with a classify project.
func newProject(t *testing.T, st *store.Store, overlap, maxOverlap int) work.Project {
	t.Helper()
	ctx := context.Background()
	c, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b","c"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: maxOverlap, AssignmentSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	p := newProject(t, st, 1, 1)
	failing := func(yield func(project.NewTask, error) bool) {
		for i := range 1000 {
			if i == 700 {
				yield(project.NewTask{}, errors.New("row 700 is bad"))
				return
			}
			if !yield(project.NewTask{Payload: []byte(`{"text":"x"}`)}, nil) {
				return
			}
		}
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "bad", Purpose: work.PurposeWork}, failing); err == nil {
		t.Fatalf("got nil error from a failing batch")
	}
	bs, _ := project.Batches(ctx, st, p.ID, store.Page{Limit: 10})
	var n int
	st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM tasks`).Scan(&n)
	if len(bs) != 0 || n != 0 {
		t.Fatalf("after a failed batch: %d batches and %d tasks remain, want none", len(bs), n)
	}
}

// A kept read is reused until Forget, and an unknown project is
// store.ErrNotFound.
func TestCacheKeepsAndForgets(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	p := newProject(t, st, 1, 1)
	c := &project.Cache{Store: st}
	if got, err := c.Project(ctx, p.ID); err != nil || got.Name != "p" {
		t.Fatalf("first read: %+v, %v", got, err)
	}
	if err := st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE projects SET name = 'renamed' WHERE id = ?`, p.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Project(ctx, p.ID); got.Name != "p" {
		t.Fatalf("kept read: name %q, want the kept %q", got.Name, "p")
	}
	c.Forget(p.ID)
	if got, _ := c.Project(ctx, p.ID); got.Name != "renamed" {
		t.Fatalf("after Forget: name %q, want %q", got.Name, "renamed")
	}
	if _, err := c.Project(ctx, work.NewID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown project: %v, want ErrNotFound", err)
	}
}
