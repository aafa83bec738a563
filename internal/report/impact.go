package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/work"
)

// MinGroup is the smallest group a figure may describe.
const MinGroup = 5

// JobHours is the active time in the period that makes a job.
const JobHours = 20

// Impact is the impact report for a period.
type Impact struct {
	From string `json:"from"` // first day, YYYY-MM-DD
	To   string `json:"to"`   // last day
	// ActiveWorkers, Jobs, HoursWorked: see Definitions.
	ActiveWorkers int     `json:"active_workers"`
	Jobs          int     `json:"jobs"`
	HoursWorked   float64 `json:"hours_worked"`
	// Earnings are the active workers' pay in the period, in paise.
	Earnings Distribution `json:"earnings"`
	// Shares of the active workers, from their self-declarations.
	Women        *Share `json:"women"`
	Disability   *Share `json:"disability"`
	Minority     *Share `json:"minority"`
	FirstJob     *Share `json:"first_job"`
	Declared     int    `json:"declared"`
	Retention30  *Share `json:"retention_30"`
	Retention90  *Share `json:"retention_90"`
	Villages     int    `json:"villages"`
	HubWorkers   int    `json:"hub_workers"`
	CenterWorker int    `json:"center_workers"`
	// Definitions says what each figure means.
	Definitions map[string]string `json:"definitions"`
}

// Distribution is a spread of amounts: the 10th, 50th and 90th percentile
// and the total. Nil percentiles (with Suppressed) when the group is
// under MinGroup.
type Distribution struct {
	People     int    `json:"people"`
	Total      int64  `json:"total"`
	P10        *int64 `json:"p10,omitempty"`
	Median     *int64 `json:"median,omitempty"`
	P90        *int64 `json:"p90,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Share is a count out of a whole; suppressed (nil count) when either the
// group or the rest is under MinGroup.
type Share struct {
	Count      *int     `json:"count,omitempty"`
	Of         int      `json:"of"`
	Share      *float64 `json:"share,omitempty"`
	Suppressed bool     `json:"suppressed,omitempty"`
}

func share(n, of int) *Share {
	s := &Share{Of: of}
	if of == 0 || n < MinGroup || of-n < MinGroup {
		s.Suppressed = true
		return s
	}
	f := float64(n) / float64(of)
	s.Count, s.Share = &n, &f
	return s
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []int64, p float64) int64 {
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// MakeImpact computes the impact report for the days from..to (inclusive,
// UTC).
func MakeImpact(ctx context.Context, st *store.Store, from, to time.Time) (Impact, error) {
	from = from.UTC().Truncate(24 * time.Hour)
	to = to.UTC().Truncate(24 * time.Hour)
	if to.Before(from) {
		return Impact{}, fmt.Errorf("report: impact: the period ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	end := to.Add(24 * time.Hour)
	ws, err := workersInPeriod(ctx, st, from, end)
	if err != nil {
		return Impact{}, err
	}
	r := Impact{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), ActiveWorkers: len(ws), Definitions: definitions}
	var pay []int64
	var activeMS int64
	villages := map[string]bool{}
	women, disability, minority, firstJob := 0, 0, 0, 0
	for _, w := range ws {
		activeMS += w.ActiveMS
		if w.ActiveMS >= JobHours*3_600_000 {
			r.Jobs++
		}
		pay = append(pay, w.Earned)
		if w.OrgKind == auth.OrgCenter && w.OrgID != auth.BuiltinCenterOrgID {
			villages[w.OrgID] = true
			r.CenterWorker++
		} else {
			r.HubWorkers++
		}
		if !w.Declared {
			continue
		}
		r.Declared++
		d := w.Declaration
		if d.Gender == "woman" {
			women++
		}
		if d.Disability == "yes" {
			disability++
		}
		if d.Minority == "yes" {
			minority++
		}
		if d.FirstJob == "yes" {
			firstJob++
		}
	}
	r.HoursWorked = float64(activeMS) / 3.6e6
	r.Villages = len(villages)
	slices.Sort(pay)
	r.Earnings = Distribution{People: len(pay)}
	for _, p := range pay {
		r.Earnings.Total += p
	}
	if len(pay) >= MinGroup {
		p10, p50, p90 := percentile(pay, 0.1), percentile(pay, 0.5), percentile(pay, 0.9)
		r.Earnings.P10, r.Earnings.Median, r.Earnings.P90 = &p10, &p50, &p90
	} else {
		r.Earnings.Suppressed = true
	}
	r.Women, r.Disability = share(women, len(ws)), share(disability, len(ws))
	r.Minority, r.FirstJob = share(minority, len(ws)), share(firstJob, len(ws))
	day := 24 * time.Hour
	for _, c := range []struct {
		days int
		dst  **Share
	}{{30, &r.Retention30}, {90, &r.Retention90}} {
		startTo := end.Add(-time.Duration(c.days) * day)
		n, kept, err := retention(ctx, st, startTo.Add(-30*day), startTo, end.Add(-30*day), end)
		if err != nil {
			return Impact{}, err
		}
		*c.dst = share(kept, n)
	}
	return r, nil
}

var definitions = map[string]string{
	"active_workers": "workers who gave at least one answer, or had training time accepted, in the period",
	"jobs":           fmt.Sprintf("active workers with at least %d hours of active time in the period", JobHours),
	"hours_worked":   "active time in the period, in hours: task time the server measured from each offer to its answer (at most the assignment's time limit; at a village center, the center's measure, at most the span of its lease) and training time the server accepted (inside a course session it recorded, overlapping no other time, under the daily cap); nothing a worker's device reports is counted",
	"earnings":       "each active worker's pay for answers approved in the period, in paise: the 10th, 50th (median) and 90th percentile, nearest rank, and the total",
	"women":          "active workers whose latest self-declaration says woman, out of all active workers (undeclared included in the whole)",
	"disability":     "active workers who declared a disability, out of all active workers",
	"minority":       "active workers who declared belonging to a minority, out of all active workers",
	"first_job":      "active workers who declared this their first paid job outside farming or the home, out of all active workers",
	"declared":       "active workers who have made a self-declaration at all; declaring is voluntary and a worker may withdraw it, which erases it",
	"retention_30":   "of the workers whose first answer fell 30 to 59 days before the end of the period, those who answered in the last 30 days of it",
	"retention_90":   "of the workers whose first answer fell 90 to 119 days before the end of the period, those who answered in the last 30 days of it",
	"villages":       "village centers with at least one active worker in the period (a center is in one village); the hub's own workers are counted apart",
	"suppressed":     fmt.Sprintf("a figure about fewer than %d people, or one whose complement is fewer than %d, is not shown", MinGroup, MinGroup),
}

// ActiveTime is the one definition of a worker's active time in a period,
// which the impact report's hours and jobs rest on: the task time the
// server measured for each answer given (counted on the day the work
// began, when the task was offered) and the training spans the server
// accepted (counted on the day each began). Nothing a worker's device
// reports is in it. A worker's earnings statement and the hourly rates
// checked against the minimum wage read it too (ledger's WorkerEarnings
// and WorkerRates).
//
// It is a SELECT to use as a subquery: one row per answer or span, with
// worker_id, day (YYYY-MM-DD, UTC) and ms. Its parameters are
// ActiveTimeArgs, in that order; a statement with parameters of its own
// passes these where the subquery sits among them.
const ActiveTime = `SELECT worker_id, substr(created_at, 1, 10) AS day, coalesce(duration_ms, 0) AS ms FROM assignments
		WHERE state = 'submitted' AND created_at >= ? AND created_at < ?
		UNION ALL
		SELECT worker_id, substr(started_at, 1, 10), active_ms FROM activity
		WHERE what = 'training' AND started_at >= ? AND started_at < ?`

// ActiveTimeArgs are ActiveTime's parameters for the period [from, to).
func ActiveTimeArgs(from, to time.Time) []any {
	f, t := store.TimeText(from), store.TimeText(to)
	return []any{f, t, f, t}
}

// workerPeriod is one worker's part in the impact report's period: their
// active time, pay, first answer ever, last answer in the period, their
// center, and their latest self-declaration (zero when none).
type workerPeriod struct {
	WorkerID    string
	OrgID       string
	OrgKind     string
	ActiveMS    int64
	Answers     int
	Earned      int64
	FirstAnswer time.Time // ever
	LastAnswer  time.Time // ever
	Declaration work.Declaration
	Declared    bool
}

// workersInPeriod lists every worker who answered or trained in [from,
// to), with what the impact report needs of them; their active time is
// ActiveTime's.
func workersInPeriod(ctx context.Context, st *store.Store, from, to time.Time) ([]workerPeriod, error) {
	f, t := store.TimeText(from), store.TimeText(to)
	args := []any{f, t, f, t, t}
	args = append(args, ActiveTimeArgs(from, to)...)
	args = append(args, f, t, f, t)
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT u.id, u.org_id, o.kind, coalesce(act.ms, 0),
			(SELECT count(*) FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?),
			(SELECT coalesce(sum(e.worker_pay), 0) FROM money_events e WHERE e.kind IN ('pay', 'bonus', 'training') AND e.worker_id = u.id AND e.created_at >= ? AND e.created_at < ?),
			(SELECT coalesce(min(a.submitted_at), '') FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted'),
			(SELECT coalesce(max(a.submitted_at), '') FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at < ?),
			(SELECT d.body FROM declarations d WHERE d.worker_id = u.id ORDER BY d.declared_at DESC, d.id DESC LIMIT 1)
		FROM users u JOIN orgs o ON o.id = u.org_id
			LEFT JOIN (SELECT worker_id, sum(ms) AS ms FROM (`+ActiveTime+`) t GROUP BY worker_id) act ON act.worker_id = u.id
		WHERE u.role = 'worker' AND (
			EXISTS (SELECT 1 FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?)
			OR EXISTS (SELECT 1 FROM activity v WHERE v.worker_id = u.id AND v.what = 'training' AND v.started_at >= ? AND v.started_at < ?))
		ORDER BY u.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("report: workers in period: %w", err)
	}
	ws, err := store.Collect(rows, func(r store.Scanner) (workerPeriod, error) {
		var w workerPeriod
		var first, last string
		var body *string
		if err := r.Scan(&w.WorkerID, &w.OrgID, &w.OrgKind, &w.ActiveMS, &w.Answers, &w.Earned, &first, &last, &body); err != nil {
			return w, err
		}
		w.FirstAnswer, w.LastAnswer = store.ParseTimeText(first), store.ParseTimeText(last)
		if body != nil && json.Unmarshal([]byte(*body), &w.Declaration) == nil {
			w.Declared = true
		}
		return w, nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: workers in period: %w", err)
	}
	return ws, nil
}

// retention counts the workers whose first answer fell in [startFrom,
// startTo) and how many of them answered in [activeFrom, activeTo).
func retention(ctx context.Context, st *store.Store, startFrom, startTo, activeFrom, activeTo time.Time) (cohort, retained int, err error) {
	err = st.Read(ctx).QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN EXISTS (
				SELECT 1 FROM assignments b WHERE b.worker_id = f.worker_id AND b.state = 'submitted'
				AND b.submitted_at >= ? AND b.submitted_at < ?) THEN 1 ELSE 0 END), 0)
		FROM (SELECT worker_id, min(submitted_at) AS first FROM assignments WHERE state = 'submitted' GROUP BY worker_id) f
		WHERE f.first >= ? AND f.first < ?`, store.TimeText(activeFrom), store.TimeText(activeTo), store.TimeText(startFrom), store.TimeText(startTo)).Scan(&cohort, &retained)
	if err != nil {
		return 0, 0, fmt.Errorf("report: retention: %w", err)
	}
	return cohort, retained, nil
}
