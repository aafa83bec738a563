package ingest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/ingest"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// BenchmarkExportResults streams a project's results as CSV, as the
// results endpoint does, from a SQLite hub holding BANYAN_EXPORT_RESULTS
// of them (100,000 by default; the goal is stated for 1,000,000).
func BenchmarkExportResults(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BANYAN_EXPORT_RESULTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "hub.db")
	s, err := store.Open(ctx, path, store.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	people := &auth.Service{Store: s}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "c")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, s, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema, Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60})
	if err != nil {
		b.Fatal(err)
	}
	_, err = project.CreateBatch(ctx, s, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range n {
			if !yield(project.NewTask{ExternalID: fmt.Sprint("p", i), Payload: fmt.Appendf(nil, `{"text":"post %d"}`, i)}, nil) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	// Every task settled at once, straight in the file: settling a million
	// tasks through the API is not what this measures.
	for _, q := range []string{`INSERT INTO results (task_id, project_id, batch_id, answer, confidence, answers, source, created_at)
		SELECT id, project_id, batch_id, '{"label":"ok"}', 0.97, 1, 'agreement', created_at FROM tasks`,
		`UPDATE tasks SET state = 'done'`} {
		if _, err := s.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	if s, err = store.Open(ctx, path, store.Options{}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		var w countWriter
		err := ingest.WriteResults(&w, ingest.CSV, p, func(after string) ([]work.Result, error) {
			return project.Results(ctx, s, project.ResultScope{ProjectID: p.ID}, store.Page{After: after, Limit: 1000})
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(w.n)/float64(n), "B/result")
	}
	b.ReportMetric(float64(n), "results")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
