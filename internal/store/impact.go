package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"banyan/internal/work"
)

// WorkerPeriod is one worker's part in the impact report's period: their
// active time, pay, first answer ever, last answer in the period, their
// center, and their latest self-declaration (zero when none).
type WorkerPeriod struct {
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

// WorkersInPeriod lists every worker who answered or trained in [from,
// to), with what the impact report needs of them. Their active time is the
// task time the server measured (by when the work began) and their
// accepted training spans.
func (s *Store) WorkersInPeriod(ctx context.Context, from, to time.Time) ([]WorkerPeriod, error) {
	f, t := ts(from), ts(to)
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.org_id, o.kind,
			(SELECT coalesce(sum(a.duration_ms), 0) FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.created_at >= ? AND a.created_at < ?) +
			(SELECT coalesce(sum(active_ms), 0) FROM activity v WHERE v.worker_id = u.id AND v.what = 'training' AND v.started_at >= ? AND v.started_at < ?),
			(SELECT count(*) FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?),
			(SELECT coalesce(sum(e.worker_pay), 0) FROM money_events e WHERE e.kind IN ('pay', 'bonus', 'training') AND e.worker_id = u.id AND e.created_at >= ? AND e.created_at < ?),
			(SELECT coalesce(min(a.submitted_at), '') FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted'),
			(SELECT coalesce(max(a.submitted_at), '') FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at < ?),
			(SELECT d.body FROM declarations d WHERE d.worker_id = u.id ORDER BY d.declared_at DESC, d.id DESC LIMIT 1)
		FROM users u JOIN orgs o ON o.id = u.org_id
		WHERE u.role = 'worker' AND (
			EXISTS (SELECT 1 FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?)
			OR EXISTS (SELECT 1 FROM activity v WHERE v.worker_id = u.id AND v.what = 'training' AND v.started_at >= ? AND v.started_at < ?))
		ORDER BY u.id`, f, t, f, t, f, t, f, t, t, f, t, f, t)
	if err != nil {
		return nil, fmt.Errorf("store: workers in period: %w", err)
	}
	return collect(rows, func(r scanner) (WorkerPeriod, error) {
		var w WorkerPeriod
		var first, last string
		var body *string
		if err := r.Scan(&w.WorkerID, &w.OrgID, &w.OrgKind, &w.ActiveMS, &w.Answers, &w.Earned, &first, &last, &body); err != nil {
			return w, err
		}
		w.FirstAnswer, w.LastAnswer = parseTS(first), parseTS(last)
		if body != nil && json.Unmarshal([]byte(*body), &w.Declaration) == nil {
			w.Declared = true
		}
		return w, nil
	})
}

// WithdrawalRecord is a worker's withdrawal of consent to their
// self-declarations: every one they made is erased, wherever it is.
type WithdrawalRecord struct {
	WorkerID string `json:"worker_id"`
}

// WithdrawDeclarations erases everything a worker declared about
// themselves (their consent withdrawn) and returns how many declarations
// went. At a village center the declarations' copies in the outbox go
// too (blanked once sent, dropped before), and the withdrawal itself goes
// up so the hub erases its copies.
func (s *Store) WithdrawDeclarations(ctx context.Context, workerID string) (int64, error) {
	var n int64
	_, err := s.born(ctx, KindWithdrawal, WithdrawalRecord{WorkerID: workerID}, func(tx *sql.Tx, id, now string) error {
		var err error
		n, err = eraseDeclarations(ctx, tx, workerID, s.outbox)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func eraseDeclarations(ctx context.Context, tx *sql.Tx, workerID string, outbox bool) (int64, error) {
	if outbox {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = 'declaration' AND acked_at IS NULL
			AND id IN (SELECT id FROM declarations WHERE worker_id = ?)`, workerID); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET body = '{}' WHERE kind = 'declaration'
			AND id IN (SELECT id FROM declarations WHERE worker_id = ?)`, workerID); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM declarations WHERE worker_id = ?`, workerID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// UplinkWithdrawal erases, at the hub, the declarations of a center's
// worker who withdrew consent there.
func (s *Store) UplinkWithdrawal(ctx context.Context, it UplinkItem, r WithdrawalRecord) (UplinkResult, error) {
	return s.uplinkOnce(ctx, it, func(tx *sql.Tx) (UplinkResult, error) {
		if res, ok, err := centerWorker(ctx, tx, it.CenterID, r.WorkerID); !ok || err != nil {
			return res, err
		}
		_, err := eraseDeclarations(ctx, tx, r.WorkerID, false)
		return accepted, err
	})
}

// Retention counts the workers whose first answer fell in [startFrom,
// startTo) and how many of them answered in [activeFrom, activeTo).
func (s *Store) Retention(ctx context.Context, startFrom, startTo, activeFrom, activeTo time.Time) (cohort, retained int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN EXISTS (
				SELECT 1 FROM assignments b WHERE b.worker_id = f.worker_id AND b.state = 'submitted'
				AND b.submitted_at >= ? AND b.submitted_at < ?) THEN 1 ELSE 0 END), 0)
		FROM (SELECT worker_id, min(submitted_at) AS first FROM assignments WHERE state = 'submitted' GROUP BY worker_id) f
		WHERE f.first >= ? AND f.first < ?`, ts(activeFrom), ts(activeTo), ts(startFrom), ts(startTo)).Scan(&cohort, &retained)
	if err != nil {
		return 0, 0, fmt.Errorf("store: retention: %w", err)
	}
	return cohort, retained, nil
}

// OutboxWith counts outbox records whose body contains text: a check that
// something erased is gone from the outbox too.
func (s *Store) OutboxWith(ctx context.Context, text string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE body LIKE ?`, "%"+text+"%").Scan(&n)
	return n, err
}
