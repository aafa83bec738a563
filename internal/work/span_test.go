package work

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckSpan(t *testing.T) {
	t.Parallel()
	at := func(hhmm string) time.Time {
		v, err := time.Parse(time.RFC3339, "2026-11-23T"+hhmm+":00Z")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	span := func(from string, minutes int) Activity {
		return Activity{StartedAt: at(from).Format(time.RFC3339), ActiveMS: int64(minutes) * 60_000, What: ActivityTraining}
	}
	session := []Interval{{From: at("09:00"), To: at("11:00")}}
	now := at("12:00")
	cases := []struct {
		name    string
		span    Activity
		now     time.Time
		lim     SpanLimits
		facts   SpanFacts
		refused string // part of the reason; "" means taken
		in      int    // the session that holds it
	}{
		{name: "inside a session", span: span("09:30", 60), facts: SpanFacts{Sessions: session}},
		{name: "rounded to the second at the session's ends", span: Activity{StartedAt: "2026-11-23T08:59:59.5Z", ActiveMS: 7_200_000, What: ActivityTraining},
			facts: SpanFacts{Sessions: session}},
		{name: "the second session holds it", span: span("13:10", 20), now: at("14:00"),
			facts: SpanFacts{Sessions: append(session, Interval{From: at("13:00"), To: at("13:40")})}, in: 1},
		{name: "no session", span: span("09:30", 60), refused: "course session"},
		{name: "past the session's end", span: span("10:30", 60), facts: SpanFacts{Sessions: session}, refused: "course session"},
		{name: "before the session", span: span("08:30", 60), facts: SpanFacts{Sessions: session}, refused: "course session"},
		{name: "ends in the future", span: span("11:30", 60), facts: SpanFacts{Sessions: []Interval{{From: at("11:00"), To: at("13:00")}}}, refused: "after the server's time"},
		{name: "a center's skew allowed", span: span("11:30", 33), lim: SpanLimits{Skew: 5 * time.Minute},
			facts: SpanFacts{Sessions: []Interval{{From: at("11:00"), To: at("13:00")}}}},
		{name: "past a center's skew", span: span("11:30", 36), lim: SpanLimits{Skew: 5 * time.Minute},
			facts: SpanFacts{Sessions: []Interval{{From: at("11:00"), To: at("13:00")}}}, refused: "after the server's time"},
		{name: "overlaps task time", span: span("09:30", 60),
			facts: SpanFacts{Sessions: session, Busy: []Interval{{From: at("10:20"), To: at("10:25"), What: "task time"}}}, refused: "overlaps the worker's task time"},
		{name: "overlaps another span", span: span("09:30", 60),
			facts: SpanFacts{Sessions: session, Busy: []Interval{{From: at("09:00"), To: at("09:31"), What: "training"}}}, refused: "overlaps the worker's training"},
		{name: "touching is not overlapping", span: span("09:30", 60),
			facts: SpanFacts{Sessions: session, Busy: []Interval{{From: at("09:00"), To: at("09:30")}, {From: at("10:30"), To: at("10:40")}}}},
		{name: "the day's cap", span: span("09:30", 60), facts: SpanFacts{Sessions: session, Day: 9*time.Hour + time.Minute},
			refused: "over the cap of 10.0 h"},
		{name: "up to the cap", span: span("09:30", 60), facts: SpanFacts{Sessions: session, Day: 9 * time.Hour}},
		{name: "a lower cap", span: span("09:30", 60), lim: SpanLimits{DailyCap: 4 * time.Hour},
			facts: SpanFacts{Sessions: session, Day: 3*time.Hour + time.Second}, refused: "over the cap of 4.0 h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.span.Validate(); err != nil {
				t.Fatalf("the case's span is malformed: %v", err)
			}
			n := tc.now
			if n.IsZero() {
				n = now
			}
			in, err := CheckSpan(tc.span, n, tc.lim, tc.facts)
			var se *SpanError
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("got %v, want it taken", err)
			case tc.refused == "" && in != tc.in:
				t.Fatalf("got session %d, want %d", in, tc.in)
			case tc.refused != "" && (!errors.As(err, &se) || !strings.Contains(se.Reason, tc.refused)):
				t.Fatalf("got %v, want a refusal saying %q", err, tc.refused)
			}
		})
	}
}

// A village center's span may touch its neighbour by the slack its link
// allows, no more.
func TestCheckSpanSlack(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	span := Activity{StartedAt: from.Format(time.RFC3339), ActiveMS: 600_000, What: ActivityTraining}
	facts := func(overlap time.Duration) SpanFacts {
		return SpanFacts{Sessions: []Interval{{From: from.Add(-time.Hour), To: from.Add(time.Hour)}},
			Busy: []Interval{{From: from.Add(-time.Minute), To: from.Add(overlap), What: "training"}}}
	}
	lim := SpanLimits{Slack: 5 * time.Second}
	now := from.Add(2 * time.Hour)
	if _, err := CheckSpan(span, now, lim, facts(3*time.Second)); err != nil {
		t.Fatalf("an overlap of 3 s with 5 s of slack: %v", err)
	}
	if _, err := CheckSpan(span, now, lim, facts(6*time.Second)); err == nil {
		t.Fatalf("an overlap of 6 s with 5 s of slack stood")
	}
	if _, err := CheckSpan(span, now, SpanLimits{}, facts(time.Millisecond)); err == nil {
		t.Fatalf("an overlap of 1 ms with no slack stood")
	}
}
