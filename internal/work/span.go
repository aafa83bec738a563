package work

import (
	"fmt"
	"time"
)

// The rules a span of declared time must keep before it is paid or counted
// anywhere (pay, hourly rates, the impact report). They are pure: the
// server gathers what it holds of the worker around the span (SpanFacts)
// and CheckSpan says whether the span may stand.

// DefaultDailyCap is the most active time a worker's one UTC day may hold
// with a declared span in it.
const DefaultDailyCap = 10 * time.Hour

// SessionIdle is how long a course session lasts past the last request
// the server saw in it, when it was not closed.
const SessionIdle = 10 * time.Minute

// sessionSlack is how far a span may reach past a session's ends: a span
// declared in RFC 3339 seconds rounds its times to the second.
const sessionSlack = time.Second

// Interval is a stretch of time, From inclusive, To exclusive.
type Interval struct {
	From, To time.Time
	// What names it in a refusal ("training", "task time").
	What string
}

// overlap is how long i and [from, to) share (0 when they do not meet).
func (i Interval) overlap(from, to time.Time) time.Duration {
	start, end := i.From, i.To
	if from.After(start) {
		start = from
	}
	if to.Before(end) {
		end = to
	}
	return max(end.Sub(start), 0)
}

// SpanLimits are a server's settings for declared time.
type SpanLimits struct {
	// DailyCap caps a worker's active time in one UTC day, measured task
	// time and accepted spans together; 0 means DefaultDailyCap.
	DailyCap time.Duration
	// Skew is how far past the server's clock a span may end: the clock
	// skew allowed a village center, whose times have already been put on
	// the hub's clock by the difference its upload states. 0 for spans the
	// server recorded or took from a worker's own device.
	Skew time.Duration
	// Slack is how much a span may overlap other time and still stand: a
	// village center's times reach the hub through uploads whose clock
	// readings differ by the link's latency, so back-to-back spans can seem
	// to touch by that much. 0 for the server's own and a device's.
	Slack time.Duration
}

// Cap is the daily cap in force.
func (l SpanLimits) Cap() time.Duration {
	if l.DailyCap > 0 {
		return l.DailyCap
	}
	return DefaultDailyCap
}

// SpanFacts is what the server holds of the worker around a span.
type SpanFacts struct {
	// Busy are the worker's accepted spans and measured task time near
	// the span.
	Busy []Interval
	// Day is the worker's active time already counted on the UTC day the
	// span begins.
	Day time.Duration
	// Sessions are the course sessions the server recorded for the worker
	// near the span (for training).
	Sessions []Interval
}

// SpanError says why a span was refused.
type SpanError struct{ Reason string }

func (e *SpanError) Error() string { return "span refused: " + e.Reason }

// CheckSpan says whether a span of declared time (already Validated) may
// stand, at now by the server's clock: it may not start or end in the
// future (past the allowed skew), overlap the worker's other spans or
// measured task time, or take their day past the cap; a training span
// must lie within a course session the server recorded. For a training
// span it returns the index in f.Sessions of the session that holds it
// (-1 otherwise). A refusal is a *SpanError.
func CheckSpan(a Activity, now time.Time, lim SpanLimits, f SpanFacts) (int, error) {
	from, to := a.Span()
	refuse := func(format string, args ...any) (int, error) {
		return -1, &SpanError{Reason: fmt.Sprintf(format, args...)}
	}
	if to.After(now.Add(lim.Skew)) {
		return refuse("it ends at %s, after the server's time %s: report time once it has passed",
			to.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	for _, b := range f.Busy {
		if b.overlap(from, to) > lim.Slack {
			return refuse("it overlaps the worker's %s from %s to %s", b.What,
				b.From.UTC().Format(time.RFC3339), b.To.UTC().Format(time.RFC3339))
		}
	}
	if got := f.Day + to.Sub(from); got > lim.Cap() {
		return refuse("it would make %s %s of active time, over the cap of %s a day",
			from.UTC().Format(time.DateOnly), hours(got), hours(lim.Cap()))
	}
	if a.What != ActivityTraining {
		return -1, nil
	}
	for i, s := range f.Sessions {
		if !from.Before(s.From.Add(-sessionSlack)) && !to.After(s.To.Add(sessionSlack)) {
			return i, nil
		}
	}
	return refuse("training time must lie within a course session the server recorded (from opening a course to its close, or %s after the last request in it); none holds %s to %s",
		SessionIdle, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
}

// hours writes a duration as hours with one decimal.
func hours(d time.Duration) string { return fmt.Sprintf("%.1f h", d.Hours()) }
