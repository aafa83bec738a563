package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/report"
	"banyan/internal/store"
)

// What workers and centers earn, where they are paid, and the minimum-wage
// warnings the hub keeps and a village center shows.

// EarningDay is one day of a worker's pay: answers approved and what they
// earned (minor units), and the active time the desk reported.
type EarningDay struct {
	Day      string `json:"day"` // YYYY-MM-DD, UTC
	Answers  int    `json:"answers"`
	Earned   int64  `json:"earned"`
	ActiveMS int64  `json:"active_ms"`
}

// WorkerEarnings returns a worker's days in [from, to) that had pay or
// active time, oldest first.
func WorkerEarnings(ctx context.Context, st *store.Store, workerID string, from, to time.Time) ([]EarningDay, error) {
	return workerEarnings(ctx, st.Read(ctx), workerID, from, to)
}

func workerEarnings(ctx context.Context, q store.Reader, workerID string, from, to time.Time) ([]EarningDay, error) {
	rows, err := q.QueryContext(ctx, `SELECT substr(created_at, 1, 10), sum(CASE WHEN kind = 'pay' THEN 1 ELSE 0 END), coalesce(sum(worker_pay), 0)
		FROM money_events WHERE kind IN ('pay', 'bonus', 'training') AND worker_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY substr(created_at, 1, 10)`, workerID, store.TimeText(from), store.TimeText(to))
	if err != nil {
		return nil, fmt.Errorf("ledger: earnings: %w", err)
	}
	paid, err := store.Collect(rows, func(r store.Scanner) (EarningDay, error) {
		var d EarningDay
		return d, r.Scan(&d.Day, &d.Answers, &d.Earned)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: earnings: %w", err)
	}
	// Active time is report.ActiveTime, the one definition the impact
	// report and the minimum-wage check share.
	rows, err = q.QueryContext(ctx, `SELECT day, sum(ms) FROM (`+report.ActiveTime+`) t WHERE worker_id = ? GROUP BY day`,
		append(report.ActiveTimeArgs(from, to), workerID)...)
	if err != nil {
		return nil, fmt.Errorf("ledger: active time: %w", err)
	}
	active, err := store.Collect(rows, func(r store.Scanner) (EarningDay, error) {
		var d EarningDay
		return d, r.Scan(&d.Day, &d.ActiveMS)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: active time: %w", err)
	}
	byDay := map[string]EarningDay{}
	for _, d := range append(paid, active...) {
		e := byDay[d.Day]
		e.Day = d.Day
		e.Answers += d.Answers
		e.Earned += d.Earned
		e.ActiveMS += d.ActiveMS
		byDay[d.Day] = e
	}
	days := make([]EarningDay, 0, len(byDay))
	for _, d := range byDay {
		days = append(days, d)
	}
	slices.SortFunc(days, func(a, b EarningDay) int { return strings.Compare(a.Day, b.Day) })
	return days, nil
}

// WorkerRate is a worker's pay and active task time over a period.
type WorkerRate struct {
	WorkerID, Name, OrgName string
	Earned, ActiveMS        int64
}

// WorkerRates lists every worker with active time in [from, to) — task
// time the server measured and accepted training spans — with their pay
// over the same days.
func WorkerRates(ctx context.Context, st *store.Store, from, to time.Time) ([]WorkerRate, error) {
	args := append([]any{store.TimeText(from), store.TimeText(to)}, report.ActiveTimeArgs(from, to)...)
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT u.id, u.name, o.name, act.ms,
			(SELECT coalesce(sum(e.worker_pay), 0) FROM money_events e
			 WHERE e.kind IN ('pay', 'bonus', 'training') AND e.worker_id = u.id AND e.created_at >= ? AND e.created_at < ?)
		FROM (SELECT worker_id, sum(ms) AS ms FROM (`+report.ActiveTime+`) t GROUP BY worker_id HAVING sum(ms) > 0) act
		JOIN users u ON u.id = act.worker_id JOIN orgs o ON o.id = u.org_id
		ORDER BY u.name, u.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: worker rates: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (WorkerRate, error) {
		var w WorkerRate
		return w, r.Scan(&w.WorkerID, &w.Name, &w.OrgName, &w.ActiveMS, &w.Earned)
	})
}

// SetPayee records where a worker or a center is paid.
func SetPayee(ctx context.Context, st *store.Store, partyID, upiID string) error {
	_, err := st.Exec(ctx, `INSERT INTO payees (party_id, upi_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (party_id) DO UPDATE SET upi_id = excluded.upi_id, updated_at = excluded.updated_at`, partyID, upiID, store.TimeText(st.Now()))
	if err != nil {
		return fmt.Errorf("ledger: payee: %w", err)
	}
	return nil
}

// PayoutLine is what one party is owed for a period.
type PayoutLine struct {
	PartyID, Name, UPI string
	Answers            int
	Amount             int64
}

// CenterPayout lists what a center's workers earned in [from, to), by
// name, and the center's own share.
func CenterPayout(ctx context.Context, st *store.Store, centerID string, from, to time.Time) ([]PayoutLine, PayoutLine, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT u.id, u.name, coalesce(py.upi_id, ''), sum(CASE WHEN e.kind = 'pay' THEN 1 ELSE 0 END),
			coalesce(sum(e.worker_pay), 0)
		FROM money_events e JOIN users u ON u.id = e.worker_id LEFT JOIN payees py ON py.party_id = u.id
		WHERE e.kind IN ('pay', 'bonus', 'training') AND u.org_id = ? AND e.created_at >= ? AND e.created_at < ?
		GROUP BY u.id, u.name, py.upi_id ORDER BY u.name, u.id`, centerID, store.TimeText(from), store.TimeText(to))
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("ledger: payout: %w", err)
	}
	lines, err := store.Collect(rows, func(r store.Scanner) (PayoutLine, error) {
		var l PayoutLine
		return l, r.Scan(&l.PartyID, &l.Name, &l.UPI, &l.Answers, &l.Amount)
	})
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("ledger: payout: %w", err)
	}
	share := PayoutLine{PartyID: centerID}
	err = st.Read(ctx).QueryRowContext(ctx, `SELECT o.name, coalesce(py.upi_id, ''),
			(SELECT count(*) FROM money_events e WHERE e.kind = 'pay' AND e.center_id = o.id AND e.center_share > 0 AND e.created_at >= ? AND e.created_at < ?),
			(SELECT coalesce(sum(e.center_share), 0) FROM money_events e WHERE e.kind = 'pay' AND e.center_id = o.id AND e.created_at >= ? AND e.created_at < ?)
		FROM orgs o LEFT JOIN payees py ON py.party_id = o.id WHERE o.id = ?`,
		store.TimeText(from), store.TimeText(to), store.TimeText(from), store.TimeText(to), centerID).Scan(&share.Name, &share.UPI, &share.Answers, &share.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, PayoutLine{}, fmt.Errorf("ledger: payout: center %s: %w", centerID, store.ErrNotFound)
	}
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("ledger: payout: %w", err)
	}
	return lines, share, nil
}

// PayTraining pays an accepted span of training time at an hourly rate
// (minor units per hour; 0 pays nothing), once per span, inside the
// transaction that accepted it (training's).
func PayTraining(ctx context.Context, tx *store.Tx, activityID, workerID string, activeMS, hourly int64, now string) error {
	amount := (activeMS*hourly + 1_800_000) / 3_600_000
	if amount <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, worker_id, currency, worker_pay, created_at)
		VALUES (?, 'training', ?, ?, 'INR', ?, ?) ON CONFLICT (kind, ref) DO NOTHING`, now+":training:"+activityID, activityID, workerID, amount, now)
	if err != nil {
		return fmt.Errorf("ledger: pay training: %w", err)
	}
	return nil
}

// FeedWage is a feed event: whether a center's worker is paid under the
// minimum wage per active hour (rates in minor units).
type FeedWage struct {
	WorkerID   string `json:"worker_id"`
	Below      bool   `json:"below"`
	HourlyRate int64  `json:"hourly_rate"`
	Minimum    int64  `json:"minimum"`
}

// NoteWage records, on the hub, whether a worker is under the minimum
// wage, and tells the worker's village center when that changed.
func NoteWage(ctx context.Context, st *store.Store, w FeedWage) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		var below bool
		var rate int64
		err := tx.QueryRowContext(ctx, `SELECT below, hourly_rate FROM wage_alerts WHERE worker_id = ?`, w.WorkerID).Scan(&below, &rate)
		if err == nil && below == w.Below && (!w.Below || rate == w.HourlyRate) {
			return nil // nothing new to say
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if errors.Is(err, sql.ErrNoRows) && !w.Below {
			return nil // never warned: nothing to clear
		}
		now := store.TimeText(st.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO wage_alerts (worker_id, below, hourly_rate, minimum, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (worker_id) DO UPDATE SET below = excluded.below, hourly_rate = excluded.hourly_rate,
				minimum = excluded.minimum, updated_at = excluded.updated_at`, w.WorkerID, store.BoolInt(w.Below), w.HourlyRate, w.Minimum, now); err != nil {
			return err
		}
		center, ok, err := auth.VillageCenterOf(ctx, tx, w.WorkerID)
		if err != nil {
			return err
		}
		if !ok {
			return nil // one of the hub's own workers: the staff's page shows it
		}
		return feed.Append(ctx, tx, center, "wage", w, now)
	})
	if err != nil {
		return fmt.Errorf("ledger: wage alert: %w", err)
	}
	return nil
}

// ApplyWage keeps, at a center, what the hub last said of a worker's pay
// against the minimum wage, for WageWarnings.
func ApplyWage(ctx context.Context, tx *store.Tx, f FeedWage, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO center_wage (worker_id, below, hourly_rate, minimum, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (worker_id) DO UPDATE SET below = excluded.below, hourly_rate = excluded.hourly_rate,
			minimum = excluded.minimum, updated_at = excluded.updated_at`, f.WorkerID, store.BoolInt(f.Below), f.HourlyRate, f.Minimum, store.TimeText(now))
	return err
}

// WageWarnings returns, at a center, the workers the hub says are paid
// under the minimum wage.
func WageWarnings(ctx context.Context, st *store.Store) (map[string]FeedWage, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT worker_id, hourly_rate, minimum FROM center_wage WHERE below = 1`)
	if err != nil {
		return nil, fmt.Errorf("ledger: wage warnings: %w", err)
	}
	list, err := store.Collect(rows, func(r store.Scanner) (FeedWage, error) {
		w := FeedWage{Below: true}
		return w, r.Scan(&w.WorkerID, &w.HourlyRate, &w.Minimum)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: wage warnings: %w", err)
	}
	out := map[string]FeedWage{}
	for _, w := range list {
		out[w.WorkerID] = w
	}
	return out, nil
}

// WageAlerted lists the workers the hub last warned about, for the
// wage check to clear those no longer under the minimum.
func WageAlerted(ctx context.Context, st *store.Store) ([]string, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT worker_id FROM wage_alerts WHERE below = 1`)
	if err != nil {
		return nil, fmt.Errorf("ledger: wage alerts: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// Bonus records a bonus to a worker, once per key.
func Bonus(ctx context.Context, st *store.Store, workerID string, amount int64, key string) (created bool, err error) {
	now := store.TimeText(st.Now())
	res, err := st.Exec(ctx, `INSERT INTO money_events (id, kind, ref, worker_id, currency, worker_pay, created_at)
		VALUES (?, 'bonus', ?, ?, 'INR', ?, ?) ON CONFLICT (kind, ref) DO NOTHING`, now+":bonus:"+key, key, workerID, amount, now)
	if err != nil {
		return false, fmt.Errorf("ledger: bonus: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
