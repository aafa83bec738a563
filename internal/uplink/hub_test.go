package uplink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/hub"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

type fixture struct {
	t       *testing.T
	url     string
	token   string
	h       *hub.Hub
	project work.Project
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Version = "test"
	h, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	c, err := h.Auth.CreateOrg(ctx, auth.OrgClient, "client")
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	p, err := project.CreateProject(ctx, h.Store, work.Project{ClientID: c.ID, Name: "mod", Kind: work.Classify, Schema: schema,
		Overlap: 2, MaxOverlap: 3, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 5}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = project.CreateBatch(ctx, h.Store, p, project.BatchSpec{Name: "b", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for i := range 4 {
			if !yield(project.NewTask{Payload: []byte(fmt.Sprintf(`{"text":"post %d"}`, i))}, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := h.AddCenter(ctx, "village")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, url: srv.URL, token: token, h: h, project: p}
}

// call sends a zstd-compressed request with the protocol header and
// decodes the (zstd) reply; it returns the status.
func (f *fixture) call(path string, in, out any, protocol int, token string) int {
	f.t.Helper()
	raw, _ := json.Marshal(in)
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	req, _ := http.NewRequest("POST", f.url+path, &buf)
	req.Header.Set("Content-Encoding", "zstd")
	req.Header.Set("Accept-Encoding", "zstd")
	req.Header.Set(wire.ProtocolHeader, strconv.Itoa(protocol))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "zstd" {
		zr, err := zstd.NewReader(resp.Body)
		if err != nil {
			f.t.Fatal(err)
		}
		defer zr.Close()
		body = zr
	}
	data, _ := io.ReadAll(body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s: %v in %s", path, err, data)
		}
	} else if resp.StatusCode != 200 && out != nil {
		if p, ok := out.(*map[string]any); ok {
			json.Unmarshal(data, p)
		}
	}
	return resp.StatusCode
}

func TestUplinkRefusesOtherVersionsAndTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var problem map[string]any
	if got := f.call("/uplink/v1/hello", wire.Hello{}, &problem, wire.Protocol+1, f.token); got != http.StatusUpgradeRequired {
		t.Fatalf("a newer protocol: got %d, want 426", got)
	}
	if !strings.Contains(fmt.Sprint(problem["detail"]), "upgrade the center") {
		t.Fatalf("426 detail: %v", problem)
	}
	if got := f.call("/uplink/v1/hello", wire.Hello{}, nil, wire.Protocol, "bny_wrong"); got != http.StatusUnauthorized {
		t.Fatalf("bad token: got %d, want 401", got)
	}
	admin, err := f.h.InitAdmin(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.call("/uplink/v1/hello", wire.Hello{}, nil, wire.Protocol, admin); got != http.StatusForbidden {
		t.Fatalf("an admin token on the uplink: got %d, want 403", got)
	}
	var hello wire.HelloReply
	if got := f.call("/uplink/v1/hello", wire.Hello{Version: "c1", Backlog: 3}, &hello, wire.Protocol, f.token); got != 200 {
		t.Fatalf("hello: %d", got)
	}
	if hello.CenterName != "village" || hello.LeaseTTLSeconds != 72*3600 || hello.HubVersion != "test" {
		t.Fatalf("hello reply: %+v", hello)
	}
}

// The protocol end to end: enrol workers, lease, upload answers (one of
// them twice, one malformed), renew, and the task settles on the hub.
func TestUplinkLeaseAndUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var lr wire.LeaseReply
	if got := f.call("/uplink/v1/leases", wire.LeaseRequest{Want: 4, Skills: []wire.Skill{{Kind: "classify", Language: "en"}}}, &lr, wire.Protocol, f.token); got != 200 {
		t.Fatalf("leases: %d", got)
	}
	if len(lr.Grants) != 2 || lr.Grants[0].Project.Kind != work.Classify || len(lr.Grants[0].Payload) == 0 || lr.Grants[0].Slots != 2 {
		t.Fatalf("grants: %+v", lr.Grants)
	}
	var none wire.LeaseReply
	f.call("/uplink/v1/leases", wire.LeaseRequest{Want: 2, Skills: []wire.Skill{{Kind: "extract", Language: "en"}}}, &none, wire.Protocol, f.token)
	if len(none.Grants) != 0 {
		t.Fatalf("leases for a skill with no work: %+v", none.Grants)
	}
	g := lr.Grants[0]
	w1, w2 := work.NewID(), work.NewID()
	enrol := func(seq int64, id, name string) wire.Item {
		b, _ := json.Marshal(wire.Enrolment{WorkerID: id, Name: name})
		return wire.Item{ID: work.NewID(), Seq: seq, Kind: wire.KindEnrolment, Body: b}
	}
	answer := func(seq int64, worker, label string) wire.Item {
		b, _ := json.Marshal(wire.Answer{LeaseID: g.LeaseID, Epoch: g.Epoch, WorkerID: worker,
			Answer: json.RawMessage(`{"label":"` + label + `"}`), DurationMS: 5000})
		return wire.Item{ID: work.NewID(), Seq: seq, Kind: wire.KindAnswer, Body: b}
	}
	first := answer(3, w1, "spam")
	items := []wire.Item{
		enrol(1, w1, "lakshmi"),
		enrol(2, w2, "ravi"),
		first,
		first, // replayed in the same batch
		answer(4, w2, "maybe"),
		{ID: "not-a-uuid", Seq: 5, Kind: wire.KindAnswer, Body: json.RawMessage(`{}`)},
		{ID: work.NewID(), Seq: 6, Kind: "selfie", Body: json.RawMessage(`{}`)},
		answer(7, w2, "spam"),
	}
	var up wire.UploadReply
	if got := f.call("/uplink/v1/upload", wire.Upload{Items: items, Backlog: 0}, &up, wire.Protocol, f.token); got != 200 {
		t.Fatalf("upload: %d", got)
	}
	want := []string{"accepted", "accepted", "accepted", "duplicate", "rejected", "rejected", "rejected", "accepted"}
	if len(up.Statuses) != len(want) {
		t.Fatalf("statuses: %v", up.Statuses)
	}
	for i, st := range up.Statuses {
		if st != want[i] {
			t.Fatalf("item %d: got %s (%s), want %s", i, st, up.Reasons[i], want[i])
		}
	}
	if !strings.Contains(up.Reasons[4], "label") {
		t.Fatalf("a bad answer's reason should name the field: %q", up.Reasons[4])
	}
	// The whole upload again: every item already seen is a duplicate.
	var again wire.UploadReply
	f.call("/uplink/v1/upload", wire.Upload{Items: items}, &again, wire.Protocol, f.token)
	for i, st := range again.Statuses {
		if i == 5 { // an id the hub could not record stays rejected
			continue
		}
		if st != "duplicate" {
			t.Fatalf("replayed item %d: got %s, want duplicate", i, st)
		}
	}
	var hb wire.HeartbeatReply
	f.call("/uplink/v1/heartbeat", wire.Heartbeat{LeaseIDs: []string{g.LeaseID, lr.Grants[1].LeaseID}}, &hb, wire.Protocol, f.token)
	if len(hb.Renewed) != 1 || hb.Renewed[0] != lr.Grants[1].LeaseID || hb.Gone[g.LeaseID] != dispatch.LeaseReturned {
		t.Fatalf("heartbeat: %+v; the settled task's lease should be gone as returned", hb)
	}
	res, err := project.Results(context.Background(), f.h.Store, project.ResultScope{ProjectID: f.project.ID}, store.Page{Limit: 10})
	if err != nil || len(res) != 1 || res[0].Answer.Label != "spam" || res[0].Answers != 2 {
		t.Fatalf("results on the hub: %+v, %v", res, err)
	}
}

// A hub, or a proxy in front of it, that refuses zstd gets gzip instead,
// from then on.
func TestClientFallsBackToGzip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	var encodings []string
	strict := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := r.Header.Get("Content-Encoding")
		mu.Lock()
		encodings = append(encodings, enc)
		mu.Unlock()
		if enc == "zstd" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			io.WriteString(w, `{"status":415,"detail":"no zstd here"}`)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, f.url+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer strict.Close()
	c := &uplink.Client{BaseURL: strict.URL, Token: f.token, Version: "test", HTTP: http.DefaultClient}
	for range 2 {
		if _, err := c.Hello(context.Background(), 0); err != nil {
			t.Fatalf("hello through a gzip-only proxy: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"zstd", "gzip", "gzip"}; fmt.Sprint(encodings) != fmt.Sprint(want) {
		t.Fatalf("encodings sent: %v, want %v", encodings, want)
	}
}

// A center's clock may be days off. The upload says what the center's
// clock read when it was sent, and the hub puts the times the records carry
// on its own clock by the difference: an answer begun half a second after
// its lease was granted, by a clock three days fast, is placed there.
// Without the reading the hub cannot place it inside the lease's span, and
// takes the work to have ended on arrival, two and a half seconds in.
func TestCenterClockPutOnHubClock(t *testing.T) {
	t.Parallel()
	const ahead = 72 * time.Hour
	cases := []struct {
		name      string
		sayClock  bool
		wantStart func(granted, arrived time.Time) time.Time
	}{
		{name: "clock read", sayClock: true, wantStart: func(granted, _ time.Time) time.Time { return granted.Add(500 * time.Millisecond) }},
		{name: "clock not read", wantStart: func(_, arrived time.Time) time.Time { return arrived.Add(-300 * time.Millisecond) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var lr wire.LeaseReply
			if got := f.call("/uplink/v1/leases", wire.LeaseRequest{Want: 1, Skills: []wire.Skill{{Kind: "classify", Language: "en"}}}, &lr, wire.Protocol, f.token); got != 200 || len(lr.Grants) == 0 {
				t.Fatalf("leases: %d %+v", got, lr)
			}
			g := lr.Grants[0]
			granted := g.ExpiresAt.Add(-f.h.Config.LeaseTTL)
			w := work.NewID()
			enrol, _ := json.Marshal(wire.Enrolment{WorkerID: w, Name: "lakshmi"})
			ans, _ := json.Marshal(wire.Answer{LeaseID: g.LeaseID, Epoch: g.Epoch, WorkerID: w,
				Answer: json.RawMessage(`{"label":"ok"}`), DurationMS: 300, StartedAt: granted.Add(500 * time.Millisecond).Add(ahead)})
			id := work.NewID()
			up := wire.Upload{Items: []wire.Item{{ID: work.NewID(), Seq: 1, Kind: wire.KindEnrolment, Body: enrol},
				{ID: id, Seq: 2, Kind: wire.KindAnswer, Body: ans}}}
			time.Sleep(2500 * time.Millisecond)
			if tc.sayClock {
				up.Clock = time.Now().Add(ahead)
			}
			var reply wire.UploadReply
			if got := f.call("/uplink/v1/upload", up, &reply, wire.Protocol, f.token); got != 200 || reply.Statuses[1] != "accepted" {
				t.Fatalf("upload: %d %+v", got, reply)
			}
			a, err := f.h.Dispatch.Assignment(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.wantStart(granted, *a.SubmittedAt)
			if d := a.CreatedAt.Sub(want).Abs(); d > 400*time.Millisecond || a.DurationMS != 300 {
				t.Fatalf("the work began at %v (%v off %v), took %d ms; want about %v", a.CreatedAt, d, want, a.DurationMS, want)
			}
		})
	}
}

// A center's spans are checked on arrival like any other: task time is
// never declared, and training time must lie in the course session it
// carries. Spans that touched at the center stand though their uploads'
// clock readings reached the hub a little apart. A refused span is
// rejected with the reason, a final answer the center does not send again.
func TestCenterSpansChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	schema, _ := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	course, err := training.CreateCourse(ctx, f.h.Store, work.Course{Name: "basics", Purpose: work.Training, Kind: work.Classify, Language: "en",
		Schema: schema, PassMark: 0.5}, func(yield func(training.CourseItemIn, error) bool) {
		yield(training.CourseItemIn{Payload: []byte(`{"text":"x"}`), Answer: []byte(`{"label":"ok"}`)}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := work.NewID()
	now := time.Now().UTC()
	body := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	session := &wire.CourseSession{ID: work.NewID(), WorkerID: w, CourseID: course.ID, StartedAt: now.Add(-time.Hour), LastSeenAt: now.Add(-30 * time.Minute)}
	span := func(from time.Time, d time.Duration, what string, s *wire.CourseSession) wire.Item {
		return wire.Item{ID: work.NewID(), Kind: "activity", Body: body(wire.Activity{WorkerID: w,
			Activity: work.Activity{StartedAt: from.Format(time.RFC3339Nano), ActiveMS: d.Milliseconds(), What: what}, Session: s})}
	}
	type sent struct {
		item         wire.Item
		late         time.Duration // how much earlier than its arrival the upload's clock was read
		status, says string
	}
	cases := []sent{
		{wire.Item{ID: work.NewID(), Kind: wire.KindEnrolment, Body: body(wire.Enrolment{WorkerID: w, Name: "lakshmi"})}, 0, "accepted", ""},
		{span(now.Add(-2*time.Hour), time.Hour, "tasks", nil), 0, "rejected", "measures it"},
		{span(now.Add(-50*time.Minute), 10*time.Minute, "training", nil), 0, "rejected", "course session"},
		{span(now.Add(-50*time.Minute), 10*time.Minute, "training", session), 2 * time.Second, "accepted", ""},
		{span(now.Add(-40*time.Minute), 5*time.Minute, "training", session), 0, "accepted", ""},
		{span(now.Add(-45*time.Minute), 10*time.Minute, "training", session), 0, "rejected", "overlaps the worker's training"},
		{span(now.Add(-25*time.Minute), 10*time.Minute, "training", session), 0, "rejected", "course session"},
	}
	// Each in an upload of its own, in the center's order.
	for i, c := range cases {
		c.item.Seq = int64(i + 1)
		var reply wire.UploadReply
		if got := f.call("/uplink/v1/upload", wire.Upload{Items: []wire.Item{c.item}, Clock: time.Now().Add(-c.late)}, &reply, wire.Protocol, f.token); got != 200 {
			t.Fatalf("upload %d: %d", i, got)
		}
		if reply.Statuses[0] != c.status || !strings.Contains(reply.Reasons[0], c.says) {
			t.Fatalf("item %d: got %s (%s), want %s saying %q", i, reply.Statuses[0], reply.Reasons[0], c.status, c.says)
		}
		var again wire.UploadReply
		f.call("/uplink/v1/upload", wire.Upload{Items: []wire.Item{c.item}, Clock: time.Now()}, &again, wire.Protocol, f.token)
		if again.Statuses[0] != "duplicate" || !strings.Contains(again.Reasons[0], c.status) {
			t.Fatalf("sent again, item %d: got %s (%s), want duplicate of %s", i, again.Statuses[0], again.Reasons[0], c.status)
		}
	}
}
