package training_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/training"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

func trainingSpan(from time.Time, d time.Duration) work.Activity {
	return work.Activity{StartedAt: from.UTC().Format(time.RFC3339Nano), ActiveMS: d.Milliseconds(), What: work.ActivityTraining}
}

// The desk's training time is the server's: the time between the worker's
// requests in a course session, counted as they answer; a session ends ten
// minutes after its last request, and time after that is not counted.
func TestCreditTraining(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	c := course(t, s)
	w := worker(t, s, "w000")
	credit := func() time.Duration {
		t.Helper()
		d, err := training.CreditTraining(ctx, s, w.ID, c.ID, work.SpanLimits{}, 5000)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := training.TouchCourse(ctx, s, w.ID, c.ID); err != nil { // opens the course
		t.Fatal(err)
	}
	clk.Add(3 * time.Minute)
	if d := credit(); d != 3*time.Minute {
		t.Fatalf("first answer: %v credited, want 3m", d)
	}
	clk.Add(2 * time.Minute)
	if d := credit(); d != 2*time.Minute {
		t.Fatalf("second answer: %v credited, want 2m", d)
	}
	clk.Add(11 * time.Minute) // walked away: the session ended
	if d := credit(); d != 0 {
		t.Fatalf("after a break: %v credited, want none (a new session begins)", d)
	}
	clk.Add(time.Minute)
	if d := credit(); d != time.Minute {
		t.Fatalf("in the new session: %v credited, want 1m", d)
	}
	var spans, sessions int
	var paid int64
	s.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM activity WHERE worker_id = ?`, w.ID).Scan(&spans)
	s.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM course_sessions WHERE worker_id = ?`, w.ID).Scan(&sessions)
	s.Read(ctx).QueryRowContext(ctx, `SELECT coalesce(sum(worker_pay), 0) FROM money_events WHERE kind = 'training' AND worker_id = ?`, w.ID).Scan(&paid)
	// Six minutes at ₹50.00 an hour, paid span by span: 250 + 167 + 83.
	if spans != 3 || sessions != 2 || paid != 500 {
		t.Fatalf("got %d spans in %d sessions paid %d paise; want 3 in 2, 500", spans, sessions, paid)
	}
}

// A declared span is refused, and nothing recorded or paid, when it
// overlaps the worker's measured task time or another span, takes the day
// past the cap, or lies outside every course session the server recorded.
func TestRecordSpanRefusals(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	c, p, w := courseTaskAndWorker(t, s)
	t0 := clk.Now() // 09:00
	// In the course from 09:00 to 10:00, a request every five minutes;
	// meanwhile a task from 09:20, measured as 40 s.
	for i := range 13 {
		if err := training.TouchCourse(ctx, s, w.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			a, _, err := (&dispatch.Service{Store: s}).Claim(ctx, w.ID, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(40 * time.Second)
			if _, err := (&dispatch.Service{Store: s}).Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: work.Answer{Label: "a"},
				OfferedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, SampleDraw: 1}, dispatch.Decider(p)); err != nil {
				t.Fatal(err)
			}
			clk.Add(-40 * time.Second)
		}
		clk.Add(5 * time.Minute)
	}
	clk.Add(time.Hour) // 11:05
	cases := []struct {
		name string
		span work.Activity
		lim  work.SpanLimits
		ok   bool
	}{
		{name: "over the task", span: trainingSpan(t0.Add(15*time.Minute), 10*time.Minute)},
		{name: "before the task", span: trainingSpan(t0, 20*time.Minute), ok: true},
		{name: "over the span just taken", span: trainingSpan(t0.Add(10*time.Minute), 5*time.Minute)},
		{name: "outside the session", span: trainingSpan(t0.Add(-time.Hour), 30*time.Minute)},
		{name: "past a cap of 50 minutes", span: trainingSpan(t0.Add(25*time.Minute), 35*time.Minute), lim: work.SpanLimits{DailyCap: 50 * time.Minute}},
		{name: "after the task", span: trainingSpan(t0.Add(25*time.Minute), 35*time.Minute), ok: true},
	}
	for _, tc := range cases {
		id, err := training.RecordSpan(ctx, s, training.ActivityRecord{WorkerID: w.ID, Activity: tc.span}, tc.lim, 5000)
		var se *work.SpanError
		if tc.ok != (err == nil) || (!tc.ok && !errors.As(err, &se)) {
			t.Fatalf("%s: got %q, %v; want taken: %v", tc.name, id, err, tc.ok)
		}
	}
	var spans int
	var paid int64
	s.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM activity WHERE worker_id = ?`, w.ID).Scan(&spans)
	s.Read(ctx).QueryRowContext(ctx, `SELECT coalesce(sum(worker_pay), 0) FROM money_events WHERE kind = 'training' AND worker_id = ?`, w.ID).Scan(&paid)
	// 55 minutes at ₹50.00 an hour: 1667 + 2917.
	if spans != 2 || paid != 1667+2917 {
		t.Fatalf("got %d spans paid %d paise; want 2, %d", spans, paid, 1667+2917)
	}
}

// At a village center a span goes into the outbox with the session that
// holds it, so the hub can check the span when it arrives, in whatever
// order uploads arrive.
func TestCenterSendsTheSessionFirst(t *testing.T) {
	t.Parallel()
	s, clk, worker := centerStore(t)
	ctx := context.Background()
	c := course(t, s)
	t0 := clk.Now()
	for range 3 {
		if err := training.TouchCourse(ctx, s, worker, c.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(4 * time.Minute)
	}
	if _, err := training.RecordSpan(ctx, s, training.ActivityRecord{WorkerID: worker, Activity: trainingSpan(t0, 8*time.Minute)}, work.SpanLimits{}, 0); err != nil {
		t.Fatal(err)
	}
	rows, err := (&uplink.Outbox{Store: s}).Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var spans []wire.Activity
	for _, r := range rows {
		if r.Kind == wire.KindActivity {
			var a wire.Activity
			if err := json.Unmarshal(r.Body, &a); err != nil {
				t.Fatal(err)
			}
			spans = append(spans, a)
		}
	}
	if len(spans) != 1 || spans[0].Session == nil || !spans[0].Session.StartedAt.Equal(t0) || spans[0].Session.CourseID != c.ID {
		t.Fatalf("outbox spans %+v; want one carrying its session from %v", spans, t0)
	}
}

// A task in the worker's hands is busy time: training declared over it is
// refused.
func TestSpanRefusedOverATaskInHand(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	c, _, w := courseTaskAndWorker(t, s)
	t0 := clk.Now()
	if _, _, err := (&dispatch.Service{Store: s}).Claim(ctx, w.ID, "", 1); err != nil { // held from 09:00, for its minute
		t.Fatal(err)
	}
	for range 4 {
		if err := training.TouchCourse(ctx, s, w.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Minute)
	}
	_, err := training.RecordSpan(ctx, s, training.ActivityRecord{WorkerID: w.ID, Activity: trainingSpan(t0, 10*time.Minute)}, work.SpanLimits{}, 0)
	var se *work.SpanError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "task in hand") {
		t.Fatalf("training over a task in hand: %v; want it refused", err)
	}
}
