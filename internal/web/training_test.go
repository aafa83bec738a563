package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/work"
)

func makeCourse(t *testing.T, st *store.Store, name, purpose string) work.Course {
	t.Helper()
	s := &work.Schema{Inputs: []string{"text"}, Labels: []string{"ok", "spam"}}
	if err := s.Validate(work.Classify); err != nil {
		t.Fatal(err)
	}
	items := []training.CourseItemIn{
		{Payload: []byte(`{"text":"Free gold coins, click"}`), Answer: []byte(`{"label":"spam"}`), Explanation: "It sells something nobody asked for."},
		{Payload: []byte(`{"text":"The market opens at nine"}`), Answer: []byte(`{"label":"ok"}`), Explanation: "Plain news."},
	}
	c, err := training.CreateCourse(context.Background(), st, work.Course{Name: name, Purpose: purpose, Kind: work.Classify, Language: "en",
		Schema: s, Instructions: "Spam sells; the rest is ok.", PassMark: 1, CooldownSeconds: 3600},
		func(yield func(training.CourseItemIn, error) bool) {
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var itemField = regexp.MustCompile(`name="item" value="([^"]+)"`)

// answerCourseItem answers the item on the page with a label, and any
// extra form fields, and returns the reply.
func (g *rig) answerCourseItem(page, label string, extra ...string) (*http.Response, string) {
	g.t.Helper()
	m := itemField.FindStringSubmatch(page)
	action := regexp.MustCompile(`action="(/desk/attempts/[^"]+)"`).FindStringSubmatch(page)
	if m == nil || action == nil {
		g.t.Fatalf("no course item on the page:\n%s", page)
	}
	form := url.Values{"csrf": {csrfOf(g.t, page)}, "item": {m[1]}, "label": {label}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return g.post(action[1], form)
}

func TestTrainingThenQualification(t *testing.T) {
	g := newRig(t)
	training := makeCourse(t, g.st, "Spam basics", work.Training)
	qual := makeCourse(t, g.st, "Spam test", work.Qualification)
	g.signIn("asha", "123456")
	_, page := g.get("/desk/training")
	if !strings.Contains(page, "Spam basics") || !strings.Contains(page, "Qualification") {
		t.Fatalf("course list:\n%s", page)
	}
	resp, page := g.post("/desk/training/"+training.ID, url.Values{"csrf": {csrfOf(t, page)}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Item 1 of 2") || !strings.Contains(page, "Free gold coins") {
		t.Fatalf("first item: %d\n%s", resp.StatusCode, page)
	}
	_, page = g.answerCourseItem(page, "ok")
	if !strings.Contains(page, "Not quite.") || !strings.Contains(page, "The expected answer: spam") ||
		!strings.Contains(page, "It sells something nobody asked for.") {
		t.Fatalf("feedback on a wrong answer:\n%s", page)
	}
	next := regexp.MustCompile(`href="(/desk/attempts/[^"]+)"`).FindStringSubmatch(page)[1]
	_, page = g.get(next)
	if !strings.Contains(page, "Item 2 of 2") {
		t.Fatalf("second item:\n%s", page)
	}
	_, page = g.answerCourseItem(page, "ok")
	if !strings.Contains(page, "Right.") {
		t.Fatalf("feedback on a right answer:\n%s", page)
	}
	_, page = g.get(next)
	if !strings.Contains(page, "You have finished this course.") {
		t.Fatalf("end of training:\n%s", page)
	}
	// The qualification shows no feedback, and passes at the end.
	_, page = g.get("/desk/training")
	_, page = g.post("/desk/training/"+qual.ID, url.Values{"csrf": {csrfOf(t, page)}})
	_, page = g.answerCourseItem(page, "spam")
	if strings.Contains(page, "expected answer") || !strings.Contains(page, "Item 2 of 2") {
		t.Fatalf("a qualification gave feedback, or did not go on:\n%s", page)
	}
	_, page = g.answerCourseItem(page, "ok")
	if !strings.Contains(page, "You passed the qualification with 100%") {
		t.Fatalf("end of qualification:\n%s", page)
	}
	// A wrong answer shape is refused with the form kept.
	_, page = g.get("/desk/training")
	_, page = g.post("/desk/training/"+training.ID, url.Values{"csrf": {csrfOf(t, page)}})
	resp, page = g.answerCourseItem(page, "maybe")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Check this field") {
		t.Fatalf("an unknown label: %d\n%s", resp.StatusCode, page)
	}
}

func TestFailedQualificationCoolsDown(t *testing.T) {
	g := newRig(t)
	qual := makeCourse(t, g.st, "Spam test", work.Qualification)
	g.signIn("asha", "123456")
	_, page := g.get("/desk/training")
	_, page = g.post("/desk/training/"+qual.ID, url.Values{"csrf": {csrfOf(t, page)}})
	_, page = g.answerCourseItem(page, "ok")
	_, page = g.answerCourseItem(page, "spam")
	if !strings.Contains(page, "You did not pass this time (0%; the pass mark is 100%)") {
		t.Fatalf("failed qualification:\n%s", page)
	}
	_, page = g.get("/desk/training")
	resp, page := g.post("/desk/training/"+qual.ID, url.Values{"csrf": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "You may take this qualification again after") {
		t.Fatalf("retry during the cool-down: %d\n%s", resp.StatusCode, page)
	}
}

// The desk counts training time itself: between the worker's requests in
// the course, by the store's clock, as each item is answered. A time the
// form claims is not read.
func TestDeskCountsTrainingTime(t *testing.T) {
	g := newRig(t)
	training := makeCourse(t, g.st, "Spam basics", work.Training)
	g.signIn("asha", "123456")
	_, page := g.get("/desk/training")
	_, page = g.post("/desk/training/"+training.ID, url.Values{"csrf": {csrfOf(t, page)}})
	g.clk.skip(3 * time.Minute)
	_, page = g.answerCourseItem(page, "spam", "shown", "0")
	next := regexp.MustCompile(`href="(/desk/attempts/[^"]+)"`).FindStringSubmatch(page)[1]
	g.clk.skip(2 * time.Minute) // reading why
	_, page = g.get(next)
	g.clk.skip(time.Minute)
	g.answerCourseItem(page, "ok")
	ctx := context.Background()
	var asha auth.User
	orgs, _ := g.people.Orgs(ctx, auth.OrgCenter, store.Page{Limit: 10})
	for _, o := range orgs {
		us, _ := g.people.Users(ctx, o.ID, store.Page{Limit: 10})
		for _, u := range us {
			if u.Name == "Asha" {
				asha = u
			}
		}
	}
	now := g.clk.now()
	days, err := ledger.WorkerEarnings(ctx, g.st, asha.ID, now.Add(-48*time.Hour), now.Add(48*time.Hour))
	var ms int64
	for _, d := range days {
		ms += d.ActiveMS
	}
	// Three minutes to the first answer, three more (reading why, then the
	// second item) to the second; a few milliseconds of real time besides.
	if err != nil || ms < 6*60_000 || ms > 6*60_000+5_000 {
		t.Fatalf("got %d ms of training counted (%v); want six minutes", ms, err)
	}
}
