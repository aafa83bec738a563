package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/testpg"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Two hub processes on one PostgreSQL database, 200 workers taking and
// answering tasks through both at once: no worker gets a task twice, no
// task gets more answers than it wants, every answer counts once, and a
// center's upload sent to both hubs at once is stored once.
func TestTwoHubsOneDatabase(t *testing.T) {
	dsn := testpg.Schema(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var hubs []*hub.Hub
	var urls []string
	for range 2 {
		cfg := hub.DefaultConfig()
		cfg.DataDir, cfg.DB = t.TempDir(), dsn
		h, err := hub.Open(ctx, cfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h.Handler())
		t.Cleanup(func() { srv.Close(); h.Close() })
		hubs, urls = append(hubs, h), append(urls, srv.URL)
	}
	st := hubs[0].Store
	client, _ := hubs[0].Auth.CreateOrg(ctx, auth.OrgClient, "client")
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: client.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 3, MaxOverlap: 3, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	const tasks, workers = 300, 200
	_, err = project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range tasks {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"post %d"}`, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, workers)
	for i := range tokens {
		u, err := hubs[0].Auth.CreateUser(ctx, auth.BuiltinCenterOrgID, fmt.Sprint("w", i), "worker")
		if err != nil {
			t.Fatal(err)
		}
		if tokens[i], _, err = hubs[0].Auth.Issue(ctx, u, "desk"); err != nil {
			t.Fatal(err)
		}
	}
	// A call that waits this long means the hubs are stuck (as when every
	// database connection waited for another): fail, rather than hang
	// the whole test run.
	patient := &http.Client{Timeout: time.Minute}
	call := func(url, token, path string, body any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := patient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	var mu sync.Mutex
	var accepted []string
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				url := urls[(i+n)%2] // every other call to the other hub
				status, off := call(url, tokens[i], "/api/v1/work/next", nil)
				if status == http.StatusNoContent {
					return
				}
				if status != 200 {
					t.Errorf("next: %d %v", status, off)
					return
				}
				id := off["assignment_id"].(string)
				status, out := call(urls[(i+n+1)%2], tokens[i], "/api/v1/assignments/"+id+"/answer",
					map[string]any{"answer": map[string]string{"label": "ok"}, "duration_ms": 2000})
				if status != 200 || out["status"] != "accepted" {
					t.Errorf("answer: %d %v", status, out)
					return
				}
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(accepted) != tasks*3 {
		t.Fatalf("%d answers accepted, want %d (3 for each of %d tasks)", len(accepted), tasks*3, tasks)
	}
	pairs := map[[2]string]bool{}
	perTask := map[string]int{}
	for _, id := range accepted {
		a, err := (&dispatch.Service{Store: st}).Assignment(ctx, id)
		if err != nil || a.State != work.AssignmentSubmitted {
			t.Fatalf("accepted answer %s: %+v %v", id, a, err)
		}
		key := [2]string{a.WorkerID, a.TaskID}
		if pairs[key] {
			t.Fatalf("worker %s answered task %s twice", a.WorkerID, a.TaskID)
		}
		pairs[key] = true
		perTask[a.TaskID]++
	}
	all, err := project.ProjectTasks(ctx, st, p.ID, work.TaskDone, store.Page{Limit: 500})
	if err != nil || len(all) != tasks {
		t.Fatalf("done tasks: %d of %d, %v", len(all), tasks, err)
	}
	for _, task := range all {
		if perTask[task.ID] != 3 || task.Answers != 3 || task.State != work.TaskDone {
			t.Fatalf("task %s: %d answers given, %d counted, state %s; want 3, 3, done", task.ID, perTask[task.ID], task.Answers, task.State)
		}
	}

	// A center's chunk sent to both hubs at once is stored once.
	center, token, err := hubs[0].AddCenter(ctx, "village")
	if err != nil {
		t.Fatal(err)
	}
	_ = center
	_, err = project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "c", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		yield(project.NewTask{Payload: []byte(`{"text":"village post"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	up := func(url string, in, out any) {
		raw, _ := json.Marshal(in)
		enc, _ := zstd.NewWriter(nil)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(enc.EncodeAll(raw, nil)))
		req.Header.Set("Content-Encoding", "zstd")
		req.Header.Set(wire.ProtocolHeader, fmt.Sprint(wire.Protocol))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := patient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("%s: %d %s", url, resp.StatusCode, b)
			return
		}
		json.NewDecoder(resp.Body).Decode(out)
	}
	var lr wire.LeaseReply
	up(urls[0]+"/uplink/v1/leases", wire.LeaseRequest{Want: 3}, &lr)
	if len(lr.Grants) != 1 {
		t.Fatalf("grants: %+v", lr.Grants)
	}
	worker := work.NewID()
	enrol, _ := json.Marshal(wire.Enrolment{WorkerID: worker, Name: "meena"})
	answer, _ := json.Marshal(wire.Answer{LeaseID: lr.Grants[0].LeaseID, Epoch: lr.Grants[0].Epoch, WorkerID: worker,
		Answer: json.RawMessage(`{"label":"spam"}`), DurationMS: 3000})
	chunk := wire.Upload{Items: []wire.Item{
		{ID: work.NewID(), Seq: 1, Kind: wire.KindEnrolment, Body: enrol},
		{ID: work.NewID(), Seq: 2, Kind: wire.KindAnswer, Body: answer},
	}}
	replies := make([]wire.UploadReply, 2)
	var uwg sync.WaitGroup
	for i := range 2 {
		uwg.Add(1)
		go func() {
			defer uwg.Done()
			up(urls[i]+"/uplink/v1/upload", chunk, &replies[i])
		}()
	}
	uwg.Wait()
	got := map[string]int{}
	for _, r := range replies {
		if len(r.Statuses) != 2 {
			t.Fatalf("replies: %+v", replies)
		}
		got[r.Statuses[1]]++
	}
	if got[wire.StatusAccepted] != 1 || got[wire.StatusDuplicate] != 1 {
		t.Fatalf("the same answer sent to both hubs: %v, want one accepted and one duplicate", got)
	}
	if n, _ := dispatch.AnswersFromOrg(ctx, st, center.ID); n != 1 {
		t.Fatalf("the hub holds %d answers from the center, want 1", n)
	}
}
