package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// A new respond project is reviewed by rubric — its client's, or the
// default one — with one writer per task and a review share; bad rubrics
// and settings are refused naming the field and the rule.
func TestRubricProjectSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	respond := func(extra map[string]any) map[string]any {
		p := map[string]any{"kind": "respond", "schema": map[string]any{"inputs": []string{"question"}}}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	crit := func(name, scale string, min int) map[string]any {
		c := map[string]any{"name": name, "scale": scale}
		if min != 0 {
			c["min"] = min
		}
		return c
	}
	rubric := func(cs ...map[string]any) map[string]any { return map[string]any{"criteria": cs} }
	tests := []struct {
		name string
		body map[string]any
		want int
		// part is a part of the error for a refusal, or the settings a
		// new project has: criteria, overlap/max_overlap, review_first,
		// review_rate.
		part string
	}{
		{"respond: the defaults", respond(nil), 201, "accuracy,tone,grammar,completeness,policy 1/1 20 0.2"},
		{"respond: the client's rubric and share", respond(map[string]any{
			"rubric": rubric(crit("accuracy", "pass_fail", 0), crit("tone", "1-5", 4)), "review_first": 5, "review_rate": 0}), 201, "accuracy,tone 1/1 5 0"},
		{"respond: nothing reviewed", respond(map[string]any{"review_first": 0, "review_rate": 0}), 201, "accuracy,tone,grammar,completeness,policy 1/1 0 0"},
		{"classify: no rubric", map[string]any{"kind": "classify", "schema": map[string]any{"inputs": []string{"t"}, "labels": []string{"a", "b"}}}, 201, " 3/5 0 0"},
		{"empty criteria", respond(map[string]any{"rubric": rubric()}), 422, "rubric.criteria: list 1 to 20 criteria, got 0"},
		{"duplicate names", respond(map[string]any{"rubric": rubric(crit("tone", "pass_fail", 0), crit("tone", "1-5", 3))}), 422, `rubric.criteria[1].name: \"tone\" is listed twice`},
		{"unknown scale", respond(map[string]any{"rubric": rubric(crit("tone", "stars", 0))}), 422, `rubric.criteria[0].scale: \"stars\" is not a scale; use pass_fail or 1-5`},
		{"minimum out of range", respond(map[string]any{"rubric": rubric(crit("tone", "1-5", 7))}), 422, "rubric.criteria[0].min: the lowest passing score on the 1-5 scale must be from 1 to 5, got 7"},
		{"rubric on a classify project", map[string]any{"kind": "classify", "schema": map[string]any{"inputs": []string{"t"}, "labels": []string{"a", "b"}},
			"rubric": rubric(crit("tone", "pass_fail", 0))}, 422, "rubric: only respond projects are reviewed by rubric"},
		{"review_first on a classify project", map[string]any{"kind": "classify", "schema": map[string]any{"inputs": []string{"t"}, "labels": []string{"a", "b"}},
			"review_first": 3}, 422, "review_first: only a respond project"},
		{"review_first out of range", respond(map[string]any{"review_first": 1001}), 422, "review_first: must be from 0 to 1000"},
		{"review_rate out of range", respond(map[string]any{"review_rate": 1.5}), 422, "review_rate: must be from 0 to 1"},
		{"two writers", respond(map[string]any{"overlap": 2}), 422, "overlap: a respond project reviewed by rubric has one writer per task"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["name"] = "replies " + string(rune('a'+i))
			status, raw := e.do("client_admin", "POST", "/api/v1/projects", tc.body, "")
			if status != tc.want {
				t.Fatalf("got %d %s, want %d", status, raw, tc.want)
			}
			if tc.want != 201 {
				if !strings.Contains(string(raw), tc.part) {
					t.Fatalf("got %s, want a problem naming %q", raw, tc.part)
				}
				return
			}
			var p struct {
				Rubric *struct {
					Criteria []struct{ Name string } `json:"criteria"`
				} `json:"rubric"`
				Overlap     int     `json:"overlap"`
				MaxOverlap  int     `json:"max_overlap"`
				ReviewFirst int     `json:"review_first"`
				ReviewRate  float64 `json:"review_rate"`
			}
			json.Unmarshal(raw, &p)
			var names []string
			if p.Rubric != nil {
				for _, c := range p.Rubric.Criteria {
					names = append(names, c.Name)
				}
			}
			got := strings.Join(names, ",") + " " + jsonString(p.Overlap) + "/" + jsonString(p.MaxOverlap) + " " + jsonString(p.ReviewFirst) + " " + jsonString(p.ReviewRate)
			if got != tc.part {
				t.Fatalf("got %q, want %q", got, tc.part)
			}
		})
	}
}

func jsonString(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// Over the API: a writer's first reply waits for review; the reviewer
// sees it with the queue, scores it on the rubric (strictly), fails it
// with a note; the next writer is offered the task with that note; their
// reply passes and is delivered; the batch's quality report shows the
// rubric's figures.
func TestRubricReviewOverAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.must("client_admin", "POST", "/api/v1/projects", map[string]any{"name": "support", "kind": "respond",
		"schema": map[string]any{"inputs": []string{"question"}}, "review_first": 1, "review_rate": 0}, 201)
	e.ids["support"] = p["id"].(string)
	status, raw := e.do("client_admin", "POST", "/api/v1/projects/{support}/batches", `{"question":"Where is my refund?"}`, "application/jsonl")
	var b map[string]any
	if json.Unmarshal(raw, &b); status != 201 {
		t.Fatalf("upload: got %d %s", status, raw)
	}
	e.ids["supportbatch"] = b["id"].(string)

	writeReply := func(worker, text string) map[string]any {
		offer := e.must(worker, "POST", "/api/v1/work/next", map[string]any{"project_id": e.ids["support"]}, 200)
		e.must(worker, "POST", "/api/v1/assignments/"+offer["assignment_id"].(string)+"/answer", map[string]any{"answer": map[string]string{"text": text}}, 200)
		return offer
	}
	first := writeReply("worker1", "No idea.")
	if _, ok := first["rework_note"]; ok {
		t.Fatalf("a first offer carries a rework note: %v", first)
	}
	var queue struct {
		Items []struct {
			Task struct {
				ID           string `json:"id"`
				ReviewReason string `json:"review_reason"`
			} `json:"task"`
			Answers []struct {
				Answer struct{ Text string } `json:"answer"`
			} `json:"answers"`
		} `json:"items"`
	}
	_, raw = e.do("reviewer", "GET", "/api/v1/projects/{support}/review", nil, "")
	json.Unmarshal(raw, &queue)
	if len(queue.Items) != 1 || queue.Items[0].Task.ReviewReason != "new_writer" || len(queue.Items[0].Answers) != 1 ||
		queue.Items[0].Answers[0].Answer.Text != "No idea." {
		t.Fatalf("the review queue: %s; want the writer's first reply, shown", raw)
	}
	e.ids["reply"] = queue.Items[0].Task.ID
	fail := map[string]int{"accuracy": 0, "tone": 0, "grammar": 1, "completeness": 0, "policy": 1}
	const note = "Say sorry and give the refund date."
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"an answer instead of scores", map[string]any{"answer": map[string]string{"text": "Here it is."}}, "scores: required"},
		{"both", map[string]any{"answer": map[string]string{"text": "x"}, "scores": fail}, "send one"},
		{"a criterion missing", map[string]any{"scores": map[string]int{"accuracy": 1}}, "scores.tone: required"},
		{"an unknown criterion", map[string]any{"scores": map[string]int{"accuracy": 1, "tone": 1, "grammar": 1, "completeness": 1, "policy": 1, "speed": 1}}, "scores.speed: not a criterion"},
		{"out of scale", map[string]any{"scores": map[string]int{"accuracy": 3, "tone": 1, "grammar": 1, "completeness": 1, "policy": 1}}, "scores.accuracy: 3 is not on the pass/fail scale"},
		{"a fail without a note", map[string]any{"scores": fail}, "note: required when the reply fails"},
	} {
		if status, raw := e.do("reviewer", "POST", "/api/v1/tasks/{reply}/resolve", tc.body, ""); status != 422 || !strings.Contains(string(raw), tc.want) {
			t.Fatalf("%s: got %d %s, want 422 naming %q", tc.name, status, raw, tc.want)
		}
	}
	out := e.must("reviewer", "POST", "/api/v1/tasks/{reply}/resolve", map[string]any{"scores": fail, "note": note}, 200)
	if out["state"] != "open" || out["passed"] != false {
		t.Fatalf("a failing reply: %v; want open, not passed", out)
	}
	second := writeReply("worker2", "Sorry for the wait: your refund arrives on 3 May.")
	if second["rework_note"] != note {
		t.Fatalf("the next writer's offer: %v; want the note %q", second, note)
	}
	pass := map[string]int{"accuracy": 1, "tone": 1, "grammar": 1, "completeness": 1, "policy": 1}
	out = e.must("reviewer", "POST", "/api/v1/tasks/{reply}/resolve", map[string]any{"scores": pass}, 200)
	if out["state"] != "done" || out["passed"] != true || out["answer"].(map[string]any)["text"] != "Sorry for the wait: your refund arrives on 3 May." {
		t.Fatalf("a passing reply: %v; want done, passed, the reply delivered", out)
	}
	var rep struct {
		EstimatedAccuracy *struct{} `json:"estimated_accuracy"`
		Rubric            struct {
			Sampled    *struct{} `json:"sampled"`
			NewWriters struct {
				Replies  int `json:"replies"`
				PassRate struct {
					Value float64 `json:"value"`
				} `json:"pass_rate"`
				Criteria []struct {
					Name  string `json:"name"`
					Value struct {
						Value float64 `json:"value"`
					} `json:"value"`
				} `json:"criteria"`
			} `json:"new_writers"`
		} `json:"rubric"`
	}
	_, raw = e.do("viewer", "GET", "/api/v1/batches/{supportbatch}/quality", nil, "")
	json.Unmarshal(raw, &rep)
	nw := rep.Rubric.NewWriters
	if nw.Replies != 2 || nw.PassRate.Value != 0.5 || len(nw.Criteria) != 5 || nw.Criteria[1].Name != "tone" || nw.Criteria[1].Value.Value != 0.5 ||
		nw.Criteria[2].Value.Value != 1 || rep.Rubric.Sampled != nil || rep.EstimatedAccuracy != nil {
		t.Fatalf("the quality report: %s; want two new writers' replies, half passing, and no random sample yet", raw)
	}
}
