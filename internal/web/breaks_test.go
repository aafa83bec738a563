package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBreakStretch(t *testing.T) {
	b := newBreaks()
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var worked time.Duration
	for m := 0; m <= 55; m += 1 {
		worked = b.working("s", t0.Add(time.Duration(m)*time.Minute))
	}
	if worked != 55*time.Minute {
		t.Errorf("55 minutes of tasks a minute apart: stretch %s", worked)
	}
	if got := b.working("s", t0.Add(62*time.Minute)); got != 0 {
		t.Errorf("after a 7-minute gap the stretch is %s, want a fresh start", got)
	}
	if got := b.working("other", t0); got != 0 {
		t.Errorf("another session's stretch: %s", got)
	}
}

// A graphic item is hidden behind a warning until opened, and the break
// reminder shows once a stretch passes breakAfter.
func TestGraphicHiddenAndBreakReminder(t *testing.T) {
	task := classifyTask(ida)
	task.Payload = json.RawMessage(`{"text":"a violent scene","graphic":true}`)
	g := newRig(t, task)
	g.signIn("asha", "123456")
	_, page := g.get("/desk/task")
	i, j := strings.Index(page, `<details class="graphic">`), strings.Index(page, "a violent scene")
	if i < 0 || j < i || !strings.Contains(page, "may be disturbing") {
		t.Fatalf("graphic item not hidden:\n%s", page)
	}
	if strings.Contains(page, "without a break") {
		t.Fatalf("break reminder at the start of a stretch")
	}
}

// Past the shift's cap on graphic items, the next graphic item is passed
// on to others and the worker gets the next ordinary task, told why.
func TestGraphicCapPassesOn(t *testing.T) {
	g1, g2, n1 := classifyTask(ida), classifyTask(idb), classifyTask(idc)
	g1.Payload = json.RawMessage(`{"text":"first violent scene","graphic":true}`)
	g2.Payload = json.RawMessage(`{"text":"second violent scene","graphic":true}`)
	g := newRig(t, g1, g2, n1)
	g.srv.Config.Handler = capped(g, 1)
	g.signIn("asha", "123456")
	_, page := g.get("/desk/task")
	if !strings.Contains(page, "first violent scene") {
		t.Fatalf("first task:\n%s", page)
	}
	_, page = g.post("/desk/task", url.Values{"csrf": {csrfOf(t, page)}, "assignment": {ida}, "label": {"abuse"}})
	if strings.Contains(page, "second violent scene") || !strings.Contains(page, "the most for one shift") || !strings.Contains(page, `value="`+idc+`"`) {
		t.Fatalf("after the cap the next page is:\n%s", page)
	}
	if !g.desk.passed[idb] {
		t.Errorf("the second graphic item was not passed on")
	}
}

// capped serves the rig's store and desk with a graphic cap.
func capped(g *rig, n int) http.Handler {
	mux := http.NewServeMux()
	(&Web{Store: g.st, Auth: g.people, Desk: g.desk, Place: "center", GraphicCap: n, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	return mux
}
