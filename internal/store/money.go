package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Money: rate cards, the events that move money, and the ledger's rows.
// What the ledger's entries are and how its chain is hashed is the ledger
// package's business; the store keeps the rows and the transactions.

// RateCard is what a project's work costs and pays, in minor units.
type RateCard struct {
	ProjectID   string `json:"project_id"`
	Currency    string `json:"currency"`
	ClientPrice int64  `json:"client_price"`
	WorkerPay   int64  `json:"worker_pay"`
	CenterShare int64  `json:"center_share"`
	GSTBps      int    `json:"gst_bps"`
	// GoldBonus is paid for each gold answer that is fully right.
	GoldBonus int64 `json:"gold_bonus"`
	// ApproveAfterSeconds is how long after its task settles an answer
	// is approved and paid unless rejected first (0: at once); a
	// rejection may be overturned for OverturnSeconds.
	ApproveAfterSeconds int       `json:"approve_after_seconds"`
	OverturnSeconds     int       `json:"overturn_seconds"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// SetRateCard stores a project's rate card; it applies to what is
// delivered and approved from then on.
func (s *Store) SetRateCard(ctx context.Context, rc RateCard) (RateCard, error) {
	rc.UpdatedAt = s.now()
	if rc.Currency == "" {
		rc.Currency = "INR"
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO rate_cards (project_id, currency, client_price, worker_pay, center_share, gst_bps,
			approve_after_seconds, overturn_seconds, gold_bonus, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET currency = excluded.currency, client_price = excluded.client_price,
			worker_pay = excluded.worker_pay, center_share = excluded.center_share, gst_bps = excluded.gst_bps,
			approve_after_seconds = excluded.approve_after_seconds, overturn_seconds = excluded.overturn_seconds,
			gold_bonus = excluded.gold_bonus, updated_at = excluded.updated_at`,
		rc.ProjectID, rc.Currency, rc.ClientPrice, rc.WorkerPay, rc.CenterShare, rc.GSTBps, rc.ApproveAfterSeconds, rc.OverturnSeconds,
		rc.GoldBonus, ts(rc.UpdatedAt))
	if err != nil {
		return RateCard{}, fmt.Errorf("store: rate card of %s: %w", rc.ProjectID, err)
	}
	return rc, nil
}

// RateCard returns a project's rate card; ErrNotFound when it has none
// (its work then moves no money).
func (s *Store) RateCard(ctx context.Context, projectID string) (RateCard, error) {
	rc := RateCard{ProjectID: projectID}
	var updated string
	err := s.r.QueryRowContext(ctx, `SELECT currency, client_price, worker_pay, center_share, gst_bps, approve_after_seconds, overturn_seconds,
			gold_bonus, updated_at
		FROM rate_cards WHERE project_id = ?`,
		projectID).Scan(&rc.Currency, &rc.ClientPrice, &rc.WorkerPay, &rc.CenterShare, &rc.GSTBps, &rc.ApproveAfterSeconds, &rc.OverturnSeconds,
		&rc.GoldBonus, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return RateCard{}, fmt.Errorf("store: rate card of %s: %w", projectID, ErrNotFound)
	}
	if err != nil {
		return RateCard{}, fmt.Errorf("store: rate card of %s: %w", projectID, err)
	}
	rc.UpdatedAt = parseTS(updated)
	return rc, nil
}

// chargeDelivery records, in the transaction that settles a task, the
// client's charge for its result. Event ids begin with the time, so the
// ledger posts events in the order they happened.
func chargeDelivery(ctx context.Context, tx *sql.Tx, taskID, now string) error {
	// The ref numbers the task's deliveries: a result the client rejected
	// and got again is charged again.
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, task_id, project_id, client_id, currency, client_price, gst_bps, created_at)
		SELECT CAST(? AS TEXT) || ':delivery:' || t.id, 'delivery',
			t.id || ':' || CAST((SELECT count(*) FROM result_rejections x WHERE x.task_id = t.id) AS TEXT),
			t.id, t.project_id, p.client_id, rc.currency, rc.client_price, rc.gst_bps, ?
		FROM tasks t JOIN projects p ON p.id = t.project_id JOIN rate_cards rc ON rc.project_id = t.project_id
		WHERE t.id = ? AND t.gold = 0
		ON CONFLICT (kind, ref) DO NOTHING`, now, now, taskID)
	return err
}

// payAnswers records, in the transaction that approves them, the pay for
// a task's counted answers (all of them, the minority's too) or, with
// assignmentID set, for that one answer. An answer given at a village
// center also earns the center its share.
func payAnswers(ctx context.Context, tx *sql.Tx, taskID, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, center_id, currency,
			worker_pay, center_share, created_at)
		SELECT CAST(? AS TEXT) || ':pay:' || a.id, 'pay', a.id, a.project_id, p.client_id, a.worker_id,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN o.id END, rc.currency, rc.worker_pay,
			CASE WHEN o.kind = 'center' AND o.id <> ? THEN rc.center_share ELSE 0 END, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
			JOIN users u ON u.id = a.worker_id JOIN orgs o ON o.id = u.org_id
		WHERE a.task_id = ? AND a.state = 'submitted' AND a.flag IS NULL AND (? = '' OR a.id = ?)
		ON CONFLICT (kind, ref) DO NOTHING`, now, builtinCenterOrgID, builtinCenterOrgID, now, taskID, assignmentID, assignmentID)
	return err
}

// MoneyEvent is one event waiting to be posted, or posted.
type MoneyEvent struct {
	ID, Kind, Ref, ProjectID, ClientID, WorkerID, CenterID, Currency string
	ClientPrice, WorkerPay, CenterShare                              int64
	CreatedAt                                                        string
}

// LedgerBatch is one posting batch of the ledger.
type LedgerBatch struct {
	Seq       int64
	PrevHash  string
	Hash      string
	Entries   int
	CreatedAt string
}

// LedgerEntry is one line of the journal. Amount is signed: a debit is
// positive, a credit negative; a batch's amounts sum to zero.
type LedgerEntry struct {
	ID, Account, Party string
	Amount             int64
	Currency, EventID  string
	CreatedAt          string
}

// LedgerBuild turns the events next in line into a batch: its entries
// and its hash, given the batch's number, the previous batch's hash and
// the batch's time.
type LedgerBuild func(seq int64, prevHash, now string, events []MoneyEvent) ([]LedgerEntry, string, error)

// AppendLedger posts up to limit waiting events as one batch, chained to
// the last, in one transaction; with several hubs, one at a time. It
// returns how many events it posted.
func (s *Store) AppendLedger(ctx context.Context, limit int, build LedgerBuild) (int, error) {
	posted := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.d.serialize(ctx, tx, "ledger"); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, ref, coalesce(project_id, ''), client_id, coalesce(worker_id, ''), coalesce(center_id, ''),
				currency, client_price, worker_pay, center_share, created_at
			FROM money_events WHERE posted_batch IS NULL ORDER BY id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		events, err := collect(rows, func(r scanner) (MoneyEvent, error) {
			var e MoneyEvent
			return e, r.Scan(&e.ID, &e.Kind, &e.Ref, &e.ProjectID, &e.ClientID, &e.WorkerID, &e.CenterID, &e.Currency,
				&e.ClientPrice, &e.WorkerPay, &e.CenterShare, &e.CreatedAt)
		})
		if err != nil || len(events) == 0 {
			return err
		}
		var seq int64
		prev := GenesisHash
		err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_batches ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		seq++
		now := ts(s.now())
		entries, hash, err := build(seq, prev, now, events)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_batches (seq, prev_hash, hash, entries, created_at) VALUES (?, ?, ?, ?, ?)`,
			seq, prev, hash, len(entries), now); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (id, batch_seq, account, party, amount, currency, event_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, seq, e.Account, e.Party, e.Amount, e.Currency, e.EventID, e.CreatedAt); err != nil {
				return err
			}
		}
		for _, ev := range events {
			if _, err := tx.ExecContext(ctx, `UPDATE money_events SET posted_batch = ? WHERE id = ?`, seq, ev.ID); err != nil {
				return err
			}
		}
		posted = len(events)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: append to the ledger: %w", err)
	}
	return posted, nil
}

// WalkLedger calls fn with every batch and its entries, in order.
func (s *Store) WalkLedger(ctx context.Context, fn func(LedgerBatch, []LedgerEntry) error) error {
	var after int64
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT seq, prev_hash, hash, entries, created_at FROM ledger_batches
			WHERE seq > ? ORDER BY seq LIMIT 500`, after)
		if err != nil {
			return fmt.Errorf("store: read the ledger: %w", err)
		}
		batches, err := collect(rows, func(r scanner) (LedgerBatch, error) {
			var b LedgerBatch
			return b, r.Scan(&b.Seq, &b.PrevHash, &b.Hash, &b.Entries, &b.CreatedAt)
		})
		if err != nil {
			return fmt.Errorf("store: read the ledger: %w", err)
		}
		if len(batches) == 0 {
			return nil
		}
		lo, hi := batches[0].Seq, batches[len(batches)-1].Seq
		rows, err = s.r.QueryContext(ctx, `SELECT batch_seq, id, account, party, amount, currency, event_id, created_at
			FROM ledger_entries WHERE batch_seq >= ? AND batch_seq <= ? ORDER BY batch_seq, id`, lo, hi)
		if err != nil {
			return fmt.Errorf("store: read the ledger: %w", err)
		}
		type row struct {
			seq int64
			LedgerEntry
		}
		all, err := collect(rows, func(r scanner) (row, error) {
			var e row
			return e, r.Scan(&e.seq, &e.ID, &e.Account, &e.Party, &e.Amount, &e.Currency, &e.EventID, &e.CreatedAt)
		})
		if err != nil {
			return fmt.Errorf("store: read the ledger: %w", err)
		}
		bySeq := map[int64][]LedgerEntry{}
		for _, e := range all {
			bySeq[e.seq] = append(bySeq[e.seq], e.LedgerEntry)
		}
		for _, b := range batches {
			if err := fn(b, bySeq[b.Seq]); err != nil {
				return err
			}
		}
		after = hi
	}
}

// LedgerTotals sums each account's entries.
func (s *Store) LedgerTotals(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT account, coalesce(sum(amount), 0) FROM ledger_entries GROUP BY account`)
	if err != nil {
		return nil, fmt.Errorf("store: ledger totals: %w", err)
	}
	type total struct {
		account string
		sum     int64
	}
	ts, err := collect(rows, func(r scanner) (total, error) {
		var t total
		return t, r.Scan(&t.account, &t.sum)
	})
	if err != nil {
		return nil, fmt.Errorf("store: ledger totals: %w", err)
	}
	out := map[string]int64{}
	for _, t := range ts {
		out[t.account] = t.sum
	}
	return out, nil
}

// UnpostedMoney counts events waiting for the ledger.
func (s *Store) UnpostedMoney(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM money_events WHERE posted_batch IS NULL`).Scan(&n)
	return n, err
}

// ChargeLine is one batch's charges to its client over a period.
type ChargeLine struct {
	ProjectID, ProjectName, BatchID, BatchName, Currency string
	Results                                              int
	Amount                                               int64 // before GST; negative for a credit
	GSTBps                                               int
	// Credit marks results the client rejected: credited, not charged.
	Credit bool
}

// ClientCharges sums a client's delivered results by batch (and GST
// rate) over [from, to), in the order the batches were made.
func (s *Store) ClientCharges(ctx context.Context, clientID string, from, to time.Time) ([]ChargeLine, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id, p.name, b.id, b.name, e.currency, count(*),
			sum(CASE WHEN e.kind = 'credit' THEN -e.client_price ELSE e.client_price END), e.gst_bps, e.kind
		FROM money_events e JOIN tasks t ON t.id = e.task_id JOIN batches b ON b.id = t.batch_id JOIN projects p ON p.id = e.project_id
		WHERE e.kind IN ('delivery', 'credit') AND e.client_id = ? AND e.created_at >= ? AND e.created_at < ?
		GROUP BY p.id, p.name, b.id, b.name, e.currency, e.gst_bps, e.kind
		ORDER BY b.id, e.kind DESC, e.gst_bps`, clientID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: client charges: %w", err)
	}
	return collect(rows, func(r scanner) (ChargeLine, error) {
		var l ChargeLine
		var kind string
		err := r.Scan(&l.ProjectID, &l.ProjectName, &l.BatchID, &l.BatchName, &l.Currency, &l.Results, &l.Amount, &l.GSTBps, &kind)
		l.Credit = kind == "credit"
		return l, err
	})
}

// LedgerHead is the last batch's hash (GenesisHash for an empty ledger).
func (s *Store) LedgerHead(ctx context.Context) (seq int64, hash string, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_batches ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, GenesisHash, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: ledger head: %w", err)
	}
	return seq, hash, nil
}

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
func (s *Store) WorkerEarnings(ctx context.Context, workerID string, from, to time.Time) ([]EarningDay, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT substr(created_at, 1, 10), sum(CASE WHEN kind = 'pay' THEN 1 ELSE 0 END), coalesce(sum(worker_pay), 0)
		FROM money_events WHERE kind IN ('pay', 'bonus', 'training') AND worker_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY substr(created_at, 1, 10)`, workerID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: earnings: %w", err)
	}
	paid, err := collect(rows, func(r scanner) (EarningDay, error) {
		var d EarningDay
		return d, r.Scan(&d.Day, &d.Answers, &d.Earned)
	})
	if err != nil {
		return nil, fmt.Errorf("store: earnings: %w", err)
	}
	// Active time is the task time the server measured (by the day the
	// work began) and the accepted training spans; the day is the first
	// ten characters of either's UTC time.
	rows, err = s.r.QueryContext(ctx, `SELECT day, sum(ms) FROM (
			SELECT substr(created_at, 1, 10) AS day, coalesce(duration_ms, 0) AS ms FROM assignments
			WHERE worker_id = ? AND state = 'submitted' AND created_at >= ? AND created_at < ?
			UNION ALL
			SELECT substr(started_at, 1, 10), active_ms FROM activity
			WHERE worker_id = ? AND what = 'training' AND started_at >= ? AND started_at < ?) t
		GROUP BY day`, workerID, ts(from), ts(to), workerID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: active time: %w", err)
	}
	active, err := collect(rows, func(r scanner) (EarningDay, error) {
		var d EarningDay
		return d, r.Scan(&d.Day, &d.ActiveMS)
	})
	if err != nil {
		return nil, fmt.Errorf("store: active time: %w", err)
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
func (s *Store) WorkerRates(ctx context.Context, from, to time.Time) ([]WorkerRate, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.name, o.name, act.ms,
			(SELECT coalesce(sum(e.worker_pay), 0) FROM money_events e
			 WHERE e.kind IN ('pay', 'bonus', 'training') AND e.worker_id = u.id AND e.created_at >= ? AND e.created_at < ?)
		FROM (SELECT worker_id, sum(ms) AS ms FROM (
				SELECT worker_id, coalesce(duration_ms, 0) AS ms FROM assignments
				WHERE state = 'submitted' AND created_at >= ? AND created_at < ?
				UNION ALL
				SELECT worker_id, active_ms FROM activity WHERE what = 'training' AND started_at >= ? AND started_at < ?) t
			GROUP BY worker_id HAVING sum(ms) > 0) act
		JOIN users u ON u.id = act.worker_id JOIN orgs o ON o.id = u.org_id
		ORDER BY u.name, u.id`, ts(from), ts(to), ts(from), ts(to), ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: worker rates: %w", err)
	}
	return collect(rows, func(r scanner) (WorkerRate, error) {
		var w WorkerRate
		return w, r.Scan(&w.WorkerID, &w.Name, &w.OrgName, &w.ActiveMS, &w.Earned)
	})
}

// SetPayee records where a worker or a center is paid.
func (s *Store) SetPayee(ctx context.Context, partyID, upiID string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO payees (party_id, upi_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (party_id) DO UPDATE SET upi_id = excluded.upi_id, updated_at = excluded.updated_at`, partyID, upiID, ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: payee: %w", err)
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
func (s *Store) CenterPayout(ctx context.Context, centerID string, from, to time.Time) ([]PayoutLine, PayoutLine, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.name, coalesce(py.upi_id, ''), sum(CASE WHEN e.kind = 'pay' THEN 1 ELSE 0 END),
			coalesce(sum(e.worker_pay), 0)
		FROM money_events e JOIN users u ON u.id = e.worker_id LEFT JOIN payees py ON py.party_id = u.id
		WHERE e.kind IN ('pay', 'bonus', 'training') AND u.org_id = ? AND e.created_at >= ? AND e.created_at < ?
		GROUP BY u.id, u.name, py.upi_id ORDER BY u.name, u.id`, centerID, ts(from), ts(to))
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("store: payout: %w", err)
	}
	lines, err := collect(rows, func(r scanner) (PayoutLine, error) {
		var l PayoutLine
		return l, r.Scan(&l.PartyID, &l.Name, &l.UPI, &l.Answers, &l.Amount)
	})
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("store: payout: %w", err)
	}
	share := PayoutLine{PartyID: centerID}
	err = s.r.QueryRowContext(ctx, `SELECT o.name, coalesce(py.upi_id, ''),
			(SELECT count(*) FROM money_events e WHERE e.kind = 'pay' AND e.center_id = o.id AND e.center_share > 0 AND e.created_at >= ? AND e.created_at < ?),
			(SELECT coalesce(sum(e.center_share), 0) FROM money_events e WHERE e.kind = 'pay' AND e.center_id = o.id AND e.created_at >= ? AND e.created_at < ?)
		FROM orgs o LEFT JOIN payees py ON py.party_id = o.id WHERE o.id = ?`,
		ts(from), ts(to), ts(from), ts(to), centerID).Scan(&share.Name, &share.UPI, &share.Answers, &share.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, PayoutLine{}, fmt.Errorf("store: payout: center %s: %w", centerID, ErrNotFound)
	}
	if err != nil {
		return nil, PayoutLine{}, fmt.Errorf("store: payout: %w", err)
	}
	return lines, share, nil
}

// goldBonus records, in the scoring transaction, the project's bonus for
// a gold answer that was fully right.
func goldBonus(ctx context.Context, tx *sql.Tx, assignmentID, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, project_id, client_id, worker_id, currency, worker_pay, created_at)
		SELECT CAST(? AS TEXT) || ':bonus:gold:' || a.id, 'bonus', 'gold:' || a.id, a.project_id, p.client_id, a.worker_id, rc.currency,
			rc.gold_bonus, ?
		FROM assignments a JOIN projects p ON p.id = a.project_id JOIN rate_cards rc ON rc.project_id = a.project_id
		WHERE a.id = ? AND rc.gold_bonus > 0
		ON CONFLICT (kind, ref) DO NOTHING`, now, now, assignmentID)
	return err
}

// payTraining pays an accepted span of training time at an hourly rate
// (minor units per hour; 0 pays nothing), once per span, inside the
// transaction that accepted it.
func payTraining(ctx context.Context, tx *sql.Tx, activityID, workerID string, activeMS, hourly int64, now string) error {
	amount := (activeMS*hourly + 1_800_000) / 3_600_000
	if amount <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO money_events (id, kind, ref, worker_id, currency, worker_pay, created_at)
		VALUES (?, 'training', ?, ?, 'INR', ?, ?) ON CONFLICT (kind, ref) DO NOTHING`, now+":training:"+activityID, activityID, workerID, amount, now)
	if err != nil {
		return fmt.Errorf("pay training: %w", err)
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
func (s *Store) NoteWage(ctx context.Context, w FeedWage) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		now := ts(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO wage_alerts (worker_id, below, hourly_rate, minimum, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (worker_id) DO UPDATE SET below = excluded.below, hourly_rate = excluded.hourly_rate,
				minimum = excluded.minimum, updated_at = excluded.updated_at`, w.WorkerID, boolInt(w.Below), w.HourlyRate, w.Minimum, now); err != nil {
			return err
		}
		var org string
		err = tx.QueryRowContext(ctx, `SELECT o.id FROM users u JOIN orgs o ON o.id = u.org_id
			WHERE u.id = ? AND o.kind = 'center' AND o.id <> ?`, w.WorkerID, builtinCenterOrgID).Scan(&org)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // one of the hub's own workers: the staff's page shows it
		}
		if err != nil {
			return err
		}
		return s.feedTo(ctx, tx, org, "wage", w, now)
	})
	if err != nil {
		return fmt.Errorf("store: wage alert: %w", err)
	}
	return nil
}

// WageWarnings returns, at a center, the workers the hub says are paid
// under the minimum wage.
func (s *Store) WageWarnings(ctx context.Context) (map[string]FeedWage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT worker_id, hourly_rate, minimum FROM center_wage WHERE below = 1`)
	if err != nil {
		return nil, fmt.Errorf("store: wage warnings: %w", err)
	}
	list, err := collect(rows, func(r scanner) (FeedWage, error) {
		w := FeedWage{Below: true}
		return w, r.Scan(&w.WorkerID, &w.HourlyRate, &w.Minimum)
	})
	if err != nil {
		return nil, fmt.Errorf("store: wage warnings: %w", err)
	}
	out := map[string]FeedWage{}
	for _, w := range list {
		out[w.WorkerID] = w
	}
	return out, nil
}

// WageAlerted lists the workers the hub last warned about, for the
// wage check to clear those no longer under the minimum.
func (s *Store) WageAlerted(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT worker_id FROM wage_alerts WHERE below = 1`)
	if err != nil {
		return nil, fmt.Errorf("store: wage alerts: %w", err)
	}
	return collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// boolInt stores a flag as 0 or 1, which every engine takes.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
