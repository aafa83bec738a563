package ledger

import (
	"context"
	"fmt"
	"time"

	"banyan/internal/store"
)

// Statement is a worker's earnings over a period, by day and by ISO week,
// with the effective hourly rate: pay over the active task time the desk
// reported.
type Statement struct {
	WorkerID string       `json:"worker_id"`
	From     string       `json:"from"`
	To       string       `json:"to"`
	Days     []EarningDay `json:"days"`
	Weeks    []Week       `json:"weeks"`
	Answers  int          `json:"answers"`
	Earned   int64        `json:"earned"`
	ActiveMS int64        `json:"active_ms"`
	// HourlyRate is Earned per active hour, in minor units; 0 with no
	// active time.
	HourlyRate int64 `json:"hourly_rate"`
	// MinimumWage is the configured floor per hour; BelowMinimum is set
	// when the rate, over at least an hour of work, falls under it.
	MinimumWage  int64 `json:"minimum_wage"`
	BelowMinimum bool  `json:"below_minimum"`
}

// Week is one ISO week of a statement.
type Week struct {
	Week       string `json:"week"` // e.g. 2026-W48
	Answers    int    `json:"answers"`
	Earned     int64  `json:"earned"`
	ActiveMS   int64  `json:"active_ms"`
	HourlyRate int64  `json:"hourly_rate"`
}

// hourly is pay per hour of active time, rounded; 0 without active time.
func hourly(earned, activeMS int64) int64 {
	if activeMS <= 0 {
		return 0
	}
	return (earned*3_600_000 + activeMS/2) / activeMS
}

// MakeStatement reads a worker's earnings for the days from..to (inclusive,
// UTC). minimumWage is the floor per hour in minor units (0: none).
func MakeStatement(ctx context.Context, st *store.Store, workerID string, from, to time.Time, minimumWage int64) (Statement, error) {
	return makeStatement(ctx, st.Read(ctx), workerID, from, to, minimumWage)
}

func makeStatement(ctx context.Context, q store.Reader, workerID string, from, to time.Time, minimumWage int64) (Statement, error) {
	from = from.UTC().Truncate(24 * time.Hour)
	to = to.UTC().Truncate(24 * time.Hour)
	if to.Before(from) {
		return Statement{}, fmt.Errorf("ledger: statement period ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	days, err := workerEarnings(ctx, q, workerID, from, to.Add(24*time.Hour))
	if err != nil {
		return Statement{}, err
	}
	return rollUp(workerID, from, to, days, minimumWage), nil
}

// rollUp makes the statement of the days from..to out of its days'
// earnings: the weeks (ISO), the totals, the hourly rates and whether they
// fall under minimumWage.
func rollUp(workerID string, from, to time.Time, days []EarningDay, minimumWage int64) Statement {
	s := Statement{WorkerID: workerID, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Days: days,
		Weeks: []Week{}, MinimumWage: minimumWage}
	if s.Days == nil {
		s.Days = []EarningDay{}
	}
	for _, d := range days {
		t, err := time.Parse(time.DateOnly, d.Day)
		if err != nil {
			continue
		}
		y, w := t.ISOWeek()
		name := fmt.Sprintf("%d-W%02d", y, w)
		if n := len(s.Weeks); n == 0 || s.Weeks[n-1].Week != name {
			s.Weeks = append(s.Weeks, Week{Week: name})
		}
		wk := &s.Weeks[len(s.Weeks)-1]
		wk.Answers += d.Answers
		wk.Earned += d.Earned
		wk.ActiveMS += d.ActiveMS
		s.Answers += d.Answers
		s.Earned += d.Earned
		s.ActiveMS += d.ActiveMS
	}
	for i := range s.Weeks {
		s.Weeks[i].HourlyRate = hourly(s.Weeks[i].Earned, s.Weeks[i].ActiveMS)
	}
	s.HourlyRate = hourly(s.Earned, s.ActiveMS)
	s.BelowMinimum = minimumWage > 0 && s.ActiveMS >= 3_600_000 && s.HourlyRate < minimumWage
	return s
}

// Underpaid is a worker whose effective hourly rate over a period, with
// at least an hour of active time, is under the minimum wage.
type Underpaid struct {
	WorkerID, Name, Org string
	Earned, ActiveMS    int64
	HourlyRate          int64
}

// BelowMinimum lists the workers paid under minimumWage per active hour
// over the days from..to (inclusive, UTC).
func BelowMinimum(ctx context.Context, st *store.Store, from, to time.Time, minimumWage int64) ([]Underpaid, error) {
	if minimumWage <= 0 {
		return nil, nil
	}
	from = from.UTC().Truncate(24 * time.Hour)
	rates, err := WorkerRates(ctx, st, from, to.UTC().Truncate(24*time.Hour).Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	var out []Underpaid
	for _, r := range rates {
		rate := hourly(r.Earned, r.ActiveMS)
		if r.ActiveMS >= 3_600_000 && rate < minimumWage {
			out = append(out, Underpaid{WorkerID: r.WorkerID, Name: r.Name, Org: r.OrgName, Earned: r.Earned, ActiveMS: r.ActiveMS, HourlyRate: rate})
		}
	}
	return out, nil
}

// WageCheck tells the hub's records, and through them each worker's
// village center, who is paid under the minimum wage over the last 7 days,
// and clears the warning for those no longer under it.
func WageCheck(ctx context.Context, st *store.Store, now time.Time, minimumWage int64) error {
	low, err := BelowMinimum(ctx, st, now.AddDate(0, 0, -6), now, minimumWage)
	if err != nil {
		return err
	}
	under := map[string]bool{}
	for _, u := range low {
		under[u.WorkerID] = true
		if err := NoteWage(ctx, st, FeedWage{WorkerID: u.WorkerID, Below: true, HourlyRate: u.HourlyRate, Minimum: minimumWage}); err != nil {
			return err
		}
	}
	alerted, err := WageAlerted(ctx, st)
	if err != nil {
		return err
	}
	for _, id := range alerted {
		if !under[id] {
			if err := NoteWage(ctx, st, FeedWage{WorkerID: id, Below: false, Minimum: minimumWage}); err != nil {
				return err
			}
		}
	}
	return nil
}
