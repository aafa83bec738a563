package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/ledger"
	"banyan/internal/project"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// A hub worker's day: their answers and pay since the start of the day,
// and their accuracy over the gold they answered, ever.
func TestHubWorkerDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	morning := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	clk := storetest.NewClock(morning.Add(-time.Hour))
	st := storetest.Open(t, store.Options{Now: clk.Now})
	client, _ := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgClient, "Kaveri Foods")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "Reviews", Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV, GoldRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.SetRateCard(ctx, st, ledger.RateCard{ProjectID: p.ID, ClientPrice: 500, WorkerPay: 100, GoldBonus: 50}); err != nil {
		t.Fatal(err)
	}
	for _, purpose := range []string{work.PurposeWork, work.PurposeGold} {
		_, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: purpose, Purpose: purpose}, func(yield func(project.NewTask, error) bool) {
			for i := range 6 {
				nt := project.NewTask{Payload: fmt.Appendf(nil, `{"text":"%s %d"}`, purpose, i)}
				if purpose == work.PurposeGold {
					nt.Gold = []byte(`{"label":"spam"}`)
				}
				if !yield(nt, nil) {
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	w, _ := (&auth.Service{Store: st}).CreateUser(ctx, auth.BuiltinCenterOrgID, "Kavya", "worker")
	if day, err := report.HubWorkerDay(ctx, st, w.ID, morning); err != nil || day != (report.WorkerDay{Priced: true}) {
		t.Fatalf("before any answer: %+v, %v", day, err)
	}
	answer := answerer(t, st, clk, w.ID)
	answer("wg") // yesterday
	clk.Set(morning.Add(9 * time.Hour))
	answer("wgww")
	day, err := report.HubWorkerDay(ctx, st, w.ID, morning)
	if err != nil {
		t.Fatal(err)
	}
	// Today's four answers are paid ₹1.00 each, and the gold one among
	// them ₹0.50 more (it was right); the accuracy is the skill's
	// estimate, above a half, from both gold answers.
	if day.Answers != 4 || day.Earned != 450 || !day.Priced || day.Scored != 2 || day.Accuracy <= 0.5 || day.Accuracy > 1 {
		t.Errorf("today: %+v; want 4 answers, 450 paise, and an accuracy from 2 gold answers", day)
	}
}

// A center worker's day is their answers saved since the start of the
// day; the rest is known only at the hub.
func TestCenterWorkerDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox, Now: clk.Now})
	centerID := work.NewID()
	if err := (&auth.Service{Store: st}).EnsureCenterOrg(ctx, centerID, "Melur"); err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["a","b"]}`))
	proj := wire.Project{ID: work.NewID(), Kind: work.Classify, Language: "en", Schema: schema}
	var grants []wire.Grant
	for i := range 3 {
		grants = append(grants, wire.Grant{LeaseID: work.NewID(), TaskKey: fmt.Sprint("k", i), Project: proj, Epoch: 1, Slots: 1,
			Payload: []byte(`{"text":"x"}`)})
	}
	local := &center.Local{Store: st}
	if err := local.SaveGrants(ctx, 72*time.Hour, grants); err != nil {
		t.Fatal(err)
	}
	u, err := (&auth.Service{Store: st}).EnrolAtCenter(ctx, centerID, "asha", "worker")
	if err != nil {
		t.Fatal(err)
	}
	save := func() {
		t.Helper()
		o, err := local.Claim(ctx, u.ID, "", 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		if _, err := local.Save(ctx, o.WorkID, u.ID, work.Answer{Label: "a"}, 60000); err != nil {
			t.Fatal(err)
		}
	}
	save()
	clk.Add(time.Minute)
	since := clk.Now()
	save()
	save()
	for _, c := range []struct {
		since time.Time
		want  int
	}{{since.Add(-time.Hour), 3}, {since, 2}, {clk.Now().Add(time.Second), 0}} {
		day, err := report.CenterWorkerDay(ctx, st, u.ID, c.since)
		if err != nil || day != (report.WorkerDay{Answers: c.want}) {
			t.Errorf("since %v: %+v, %v; want %d answers, unpriced", c.since, day, err, c.want)
		}
	}
}
