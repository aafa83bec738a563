package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/store"
	"banyan/internal/work"
)

// fakeReviews holds replies waiting for scores and records what the
// reviewer sends.
type fakeReviews struct {
	mu     sync.Mutex
	items  []dispatch.RubricItem
	scored map[string]map[string]int
	notes  map[string]string
}

func (f *fakeReviews) NextRubricReview(ctx context.Context, reviewerID string) (dispatch.RubricItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if _, done := f.scored[it.TaskID]; !done {
			return it, nil
		}
	}
	return dispatch.RubricItem{}, dispatch.ErrNoWork
}

func (f *fakeReviews) RubricReview(ctx context.Context, reviewerID, taskID string) (dispatch.RubricItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if _, done := f.scored[it.TaskID]; it.TaskID == taskID && !done {
			return it, nil
		}
	}
	return dispatch.RubricItem{}, dispatch.ErrNoWork
}

func (f *fakeReviews) ResolveRubric(ctx context.Context, reviewerID, taskID string, scores map[string]int, note string) (dispatch.RubricOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if it.TaskID == taskID {
			f.scored[taskID], f.notes[taskID] = scores, note
			pass, err := it.Rubric.Judge(scores)
			state := work.TaskDone
			if !pass {
				state = work.TaskOpen
			}
			return dispatch.RubricOutcome{Passed: pass, State: state, Reply: it.Reply}, err
		}
	}
	return dispatch.RubricOutcome{}, store.ErrConflict
}

// reviewRig serves the hub's pages with replies to score, and signs in
// a reviewer (login "rita") and a worker (login "asha").
func reviewRig(t *testing.T, items ...dispatch.RubricItem) (*rig, *fakeReviews) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"), store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	people := &auth.Service{Store: st}
	for _, u := range []struct{ org, name, login, role string }{
		{auth.HubOrgID, "Rita", "rita", "reviewer"}, {auth.BuiltinCenterOrgID, "Asha", "asha", "worker"}} {
		user, err := people.CreateUser(ctx, u.org, u.name, u.role)
		if err != nil {
			t.Fatal(err)
		}
		if err := people.SetSecret(ctx, user.ID, u.login, "123456"); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeReviews{items: items, scored: map[string]map[string]int{}, notes: map[string]string{}}
	d := &fakeDesk{answers: map[string]string{}}
	mux := http.NewServeMux()
	(&Web{Store: st, Auth: people, Desk: d, Reviews: f, Place: "hub", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &rig{t: t, srv: srv, client: &http.Client{Jar: jar}, desk: d, st: st, people: people}, f
}

func replyItem() dispatch.RubricItem {
	schema := &work.Schema{Inputs: []string{"question"}}
	if err := schema.Validate(work.Respond); err != nil {
		panic(err)
	}
	return dispatch.RubricItem{TaskID: work.NewID(), ProjectID: work.NewID(), ProjectName: "Support replies", Instructions: "Answer politely.",
		Schema: schema, Payload: json.RawMessage(`{"question":"Where is my <refund>?"}`), Reply: work.Answer{Text: "It left today & arrives Monday."},
		Reason: dispatch.ReviewNewWriter,
		Rubric: work.Rubric{Criteria: []work.Criterion{{Name: "accuracy", Scale: work.ScalePassFail},
			{Name: "tone", Scale: work.ScaleOneToFive, Min: 3, Description: "Warm, never curt."}}}}
}

// The reviewer's desk shows the item, the reply and the project's rubric,
// takes a score for every criterion and a note, and sends a form back
// with what is missing marked.
func TestDeskReviewShowsTheRubric(t *testing.T) {
	it := replyItem()
	g, f := reviewRig(t, it)
	resp, body := g.signIn("rita", "123456")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/desk/review" {
		t.Fatalf("a reviewer signing in: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	for _, want := range []string{
		"Support replies", "One of the writer&#39;s first replies", "Where is my &lt;refund&gt;?", "It left today &amp; arrives Monday.",
		`<legend>accuracy`, "Is everything the reply says correct", `name="c_accuracy" value="1"`, `name="c_accuracy" value="0"`, "> Pass</label>", "> Fail</label>",
		`<legend>tone <span class="req">(passes at 3 or more)</span>`, "Warm, never curt.", `name="c_tone" value="5"`,
		`<textarea id="note" name="note"`, `name="task" value="` + it.TaskID + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the review page lacks %q:\n%s", want, body)
		}
	}
	csrf := csrfOf(t, body)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"a criterion unscored", url.Values{"c_accuracy": {"1"}}, 422, "Score every criterion: tone"},
		{"out of scale", url.Values{"c_accuracy": {"1"}, "c_tone": {"7"}}, 422, "Score every criterion: tone"},
		{"a fail without a note", url.Values{"c_accuracy": {"0"}, "c_tone": {"4"}}, 422, "write a note telling the next writer"},
	}
	for _, tc := range tests {
		tc.form.Set("csrf", csrf)
		tc.form.Set("task", it.TaskID)
		resp, body := g.post("/desk/review", tc.form)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) || !strings.Contains(body, "It left today") {
			t.Fatalf("%s: %d, want %d with %q and the reply again:\n%s", tc.name, resp.StatusCode, tc.status, tc.want, body)
		}
	}
	if len(f.scored) != 0 {
		t.Fatalf("scores sent on with the form incomplete: %v", f.scored)
	}
	resp, body = g.post("/desk/review", url.Values{"csrf": {csrf}, "task": {it.TaskID}, "c_accuracy": {"0"}, "c_tone": {"4"},
		"note": {" Give the date the refund arrives. "}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "The reply failed") || !strings.Contains(body, "No replies to review") {
		t.Fatalf("a failing score with a note: %d\n%s", resp.StatusCode, body)
	}
	if got := f.scored[it.TaskID]; got["accuracy"] != 0 || got["tone"] != 4 || f.notes[it.TaskID] != "Give the date the refund arrives." {
		t.Fatalf("sent scores %v and note %q", got, f.notes[it.TaskID])
	}
	// In Hindi too.
	g.post("/desk/lang", url.Values{"lang": {"hi"}, "csrf": {csrf}, "back": {"/desk/review"}})
	f.items = append(f.items, replyItem())
	_, body = g.get("/desk/review")
	if !strings.Contains(body, "जवाब को अंक दें") || !strings.Contains(body, "लेखक के लिए टिप्पणी") {
		t.Fatalf("the review page in Hindi:\n%s", body)
	}
}

// Only reviewers and hub staff score replies, and only on the hub.
func TestDeskReviewIsTheHubReviewers(t *testing.T) {
	g, _ := reviewRig(t, replyItem())
	g.signIn("asha", "123456")
	if resp, _ := g.get("/desk/review"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a worker on the review page: %d, want 403", resp.StatusCode)
	}
	c := newRig(t)
	c.signIn("asha", "123456")
	if resp, _ := c.get("/desk/review"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the review page at a center: %d, want 404", resp.StatusCode)
	}
}

// A writer taking a task whose last reply failed review is shown the
// reviewer's note with it.
func TestDeskShowsTheReworkNote(t *testing.T) {
	schema := &work.Schema{Inputs: []string{"question"}}
	if err := schema.Validate(work.Respond); err != nil {
		t.Fatal(err)
	}
	o := dispatch.Offer{WorkID: work.NewID(), ExpiresAt: time.Now().Add(time.Hour), Payload: json.RawMessage(`{"question":"Where is my refund?"}`),
		Kind: work.Respond, Schema: schema, ReworkNote: "Say sorry & give the date."}
	g := newRig(t, o)
	g.signIn("asha", "123456")
	_, body := g.get("/desk/task")
	if !strings.Contains(body, "An earlier reply to this task did not pass review") || !strings.Contains(body, "Say sorry &amp; give the date.") {
		t.Fatalf("the task page lacks the rework note:\n%s", body)
	}
}
