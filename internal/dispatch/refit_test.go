package dispatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// A re-fit tells a careful worker from one who answers at random, from
// their answers alone, and the estimate then weighs their answers.
func TestRefitSeparatesWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, svc, people, p := dsProject(t, `["a","b","c","d"]`, 4, work.Quality{Language: "en", Method: work.MethodDS, ConfidenceTarget: 0.999, MinGold: 5})
	schema := p.Schema
	truth := make([]string, 150)
	rng := rand.New(rand.NewPCG(5, 5))
	_, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range truth {
			truth[i] = schema.Labels[rng.IntN(4)]
			if !yield(project.NewTask{ExternalID: fmt.Sprint(i), Payload: []byte(fmt.Sprintf(`{"text":"t%d","i":%d}`, i, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	skill := []float64{0.95, 0.9, 0.85, 0.25} // the last answers at random: right 0.44 of the time
	var ws []auth.User
	for i := range skill {
		u, _ := people.CreateUser(ctx, auth.BuiltinCenterOrgID, fmt.Sprintf("w%d", i), "worker")
		ws = append(ws, u)
	}
	decide := Decider(p)
	for i, w := range ws {
		for {
			a, task, err := svc.Claim(ctx, w.ID, p.ID, 1)
			if err != nil {
				break
			}
			var idx int
			fmt.Sscanf(task.ExternalID, "%d", &idx)
			label := truth[idx]
			if rng.Float64() > skill[i] {
				label = schema.Labels[rng.IntN(4)]
			}
			if _, err := svc.Record(ctx, SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: label},
				ReportedMS: 1000, SampleDraw: 1}, decide); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := svc.Refit(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Labels != 600 || rep.Workers != 4 || rep.Tasks != 150 {
		t.Fatalf("re-fit report: %+v", rep)
	}
	acc := map[string]float64{}
	for _, w := range ws {
		sk, err := Skills(ctx, st, w.ID)
		if err != nil || len(sk) != 1 {
			t.Fatalf("skills of %s: %+v, %v", w.Name, sk, err)
		}
		acc[w.Name] = sk[0].DSAccuracy
	}
	if acc["w0"] < 0.85 || acc["w3"] > 0.6 || acc["w1"] < acc["w3"]+0.3 {
		t.Fatalf("re-fit accuracies %v: want the random worker far below the careful ones", acc)
	}
	if ids, _ := svc.projectsToRefit(ctx); len(ids) != 0 {
		t.Fatalf("projects still due a re-fit right after one: %v", ids)
	}
}

// Re-fits of one project saved at the same moment (two hubs, or a re-fit
// beside a review) write the same workers' skills; they take the rows in
// the same order, so on PostgreSQL neither is ended as a deadlock.
func TestRefitsAtOnceDoNotDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, svc, people, p := dsProject(t, `["a","b"]`, 2, work.Quality{Language: "en", Method: work.MethodDS})
	estimates := map[string]refitEstimate{}
	for i := range 40 {
		u, err := people.CreateUser(ctx, auth.BuiltinCenterOrgID, fmt.Sprintf("w%d", i), "worker")
		if err != nil {
			t.Fatal(err)
		}
		estimates[u.ID] = refitEstimate{Accuracy: 0.9, Labels: i}
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for range 10 {
				if err := svc.saveRefit(ctx, p, estimates); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM worker_skills WHERE ds_accuracy = 0.9`).Scan(&n); err != nil || n != 40 {
		t.Fatalf("skills with the re-fit's estimate: %d, %v; want 40", n, err)
	}
}

// dsProject opens a store with a client's classify project of the given
// labels, overlap and quality policy, for the re-fit's tests.
func dsProject(t *testing.T, labels string, overlap int, q work.Quality) (*store.Store, *Service, *auth.Service, work.Project) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{})
	people := &auth.Service{Store: st}
	c, _ := people.CreateOrg(ctx, auth.OrgClient, "c")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":`+labels+`}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "p", Kind: work.Classify, Schema: schema,
		Overlap: overlap, MaxOverlap: overlap, AssignmentSeconds: 60, Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	return st, &Service{Store: st}, people, p
}
