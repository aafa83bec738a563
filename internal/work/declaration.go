package work

import (
	"fmt"
	"slices"
	"time"
)

// Declaration is what a worker chooses to say about themselves, for the
// impact report the business shows its funders. Every field is optional
// and "undisclosed" is always an answer: nobody is made to declare
// anything, and nothing here changes what work a worker gets or is paid.
type Declaration struct {
	Gender     string `json:"gender,omitempty"`
	Disability string `json:"disability,omitempty"`
	Minority   string `json:"minority,omitempty"`
	// FirstJob is "yes" when this is the worker's first paid job outside
	// farming or the home.
	FirstJob string `json:"first_job,omitempty"`
	// BirthYear, if given, lets the report count young workers.
	BirthYear int `json:"birth_year,omitempty"`
}

// The allowed answers.
var (
	Genders  = []string{"woman", "man", "another", "undisclosed"}
	YesNoUnd = []string{"yes", "no", "undisclosed"}
)

// Validate names the first field that is wrong. thisYear bounds the birth
// year.
func (d Declaration) Validate(thisYear int) error {
	check := func(field, v string, allowed []string) error {
		if v != "" && !slices.Contains(allowed, v) {
			return fmt.Errorf("%s: %q is not one of %q", field, v, allowed)
		}
		return nil
	}
	if err := check("gender", d.Gender, Genders); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"disability", d.Disability}, {"minority", d.Minority}, {"first_job", d.FirstJob}} {
		if err := check(f.name, f.v, YesNoUnd); err != nil {
			return err
		}
	}
	if d.BirthYear != 0 && (d.BirthYear < thisYear-100 || d.BirthYear > thisYear-14) {
		return fmt.Errorf("birth_year: %d is not a working age's birth year", d.BirthYear)
	}
	return nil
}

// Activity is a span of time a worker spent on something other than
// tasks, declared by a desk or recorded by the server: today, training.
// Task time is never declared: the server measures it from each offer to
// its answer.
type Activity struct {
	StartedAt string `json:"started_at"` // RFC 3339
	ActiveMS  int64  `json:"active_ms"`
	What      string `json:"what"` // "training"
}

// Kinds of declared time.
const (
	// ActivityTraining is time in a course.
	ActivityTraining = "training"
	// ActivityTasks was task time a desk reported, before the server
	// measured it; it is refused now, and old spans of it are not counted.
	ActivityTasks = "tasks"
)

// MaxActivityMS caps one span.
const MaxActivityMS = 4 * 3600 * 1000

// Validate names the first field of the span that is wrong.
func (a Activity) Validate() error {
	if _, err := time.Parse(time.RFC3339, a.StartedAt); err != nil {
		return fmt.Errorf("started_at: want an RFC 3339 time, got %q", a.StartedAt)
	}
	if a.ActiveMS < 1 || a.ActiveMS > MaxActivityMS {
		return fmt.Errorf("active_ms: from 1 to %d (a span of at most four hours)", MaxActivityMS)
	}
	switch a.What {
	case ActivityTraining:
	case ActivityTasks:
		return fmt.Errorf("what: task time is not declared: the server measures it from each offer to its answer")
	default:
		return fmt.Errorf("what: training (task time is measured by the server, not declared)")
	}
	return nil
}

// Span returns the span's start and end.
func (a Activity) Span() (from, to time.Time) {
	from, _ = time.Parse(time.RFC3339Nano, a.StartedAt)
	return from, from.Add(time.Duration(a.ActiveMS) * time.Millisecond)
}

// Review verdicts.
const (
	VerdictAgree    = "agree"
	VerdictDisagree = "disagree"
)

// MaxReviewNote caps a reviewer's note, in bytes.
const MaxReviewNote = 2000

// CheckReview names what is wrong with a review's verdict or note.
func CheckReview(verdict, note string) error {
	if verdict != VerdictAgree && verdict != VerdictDisagree {
		return fmt.Errorf("verdict: agree or disagree")
	}
	if len(note) > MaxReviewNote {
		return fmt.Errorf("note: at most %d bytes", MaxReviewNote)
	}
	return nil
}

// ReviewScore is what a reviewer's check of an answer says of it, as a
// score for the worker's skill: with a corrected answer, the share of it
// the given answer matches (Score, with texts held to maxTextError); else
// 1 when the reviewer agrees and 0 when not.
func ReviewScore(k Kind, s *Schema, maxTextError float64, verdict string, correction *Answer, given Answer) float64 {
	switch {
	case correction != nil:
		return Score(k, s, maxTextError, *correction, given)
	case verdict == VerdictAgree:
		return 1
	}
	return 0
}
