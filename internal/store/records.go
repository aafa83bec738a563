package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/work"
)

// This file keeps the means the domains' records born where workers are
// (self-declarations, reviews of answers, audit events, training's spans
// and course answers) are born and received with. At a center
// (Options.Outbox) each is written with its outbox row in one
// transaction; on the hub UplinkOnce stores what centers send, once per id.

// born writes a record with insert and, in center mode, its outbox row,
// in one transaction.
func (s *Store) born(ctx context.Context, kind string, body any, insert func(tx *sql.Tx, id, now string) error) (string, error) {
	id := work.NewID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := insert(tx, id, ts(s.now())); err != nil {
			return err
		}
		if s.outbox != nil {
			return s.appendOutbox(ctx, tx, id, kind, body)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: record %s: %w", kind, err)
	}
	return id, nil
}

// Born writes a record born here with insert and, in center mode, its
// outbox row with body, in one transaction, and returns the record's id,
// made here once.
func (s *Store) Born(ctx context.Context, kind string, body any, insert func(tx *Tx, id string, now time.Time) error) (string, error) {
	return s.born(ctx, kind, body, func(tx *sql.Tx, id, now string) error {
		return insert(&Tx{tx: tx, d: s.d}, id, parseTS(now))
	})
}

// UplinkOnce stores one item a center uploaded exactly once: a replay is
// answered "duplicate"; otherwise store runs in a savepoint of the upload's
// transaction and its verdict is recorded (unless it is "retry": nothing
// stored, not final).
func (s *Store) UplinkOnce(ctx context.Context, it UplinkItem, store func(tx *Tx) (UplinkResult, error)) (UplinkResult, error) {
	return s.uplinkOnce(ctx, it, func(tx *sql.Tx) (UplinkResult, error) { return store(&Tx{tx: tx, d: s.d}) })
}

// uplinkOnce stores one uploaded item exactly once: a replay is answered
// "duplicate"; otherwise store runs and its verdict is recorded, unless it
// is "retry" (nothing stored, not final).
func (s *Store) uplinkOnce(ctx context.Context, it UplinkItem, store func(tx *sql.Tx) (UplinkResult, error)) (UplinkResult, error) {
	var res UplinkResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if st, seen, err := uplinkSeen(ctx, tx, it.ID); err != nil || seen {
			res = UplinkResult{Status: UplinkDuplicate, Reason: "first answered " + st}
			return err
		}
		err := s.d.savepoint(ctx, tx, func() error {
			var err error
			if res, err = store(tx); err != nil || res.Status == UplinkRetry {
				return err
			}
			return s.recordItem(ctx, tx, it, res.Status, res.Reason)
		})
		if s.d.isUniqueViolation(err) {
			// Another hub process on the same database stored this item
			// at the same moment (the center retried elsewhere).
			if st, seen, serr := uplinkSeen(ctx, tx, it.ID); serr == nil && seen {
				res = UplinkResult{Status: UplinkDuplicate, Reason: "first answered " + st}
				return nil
			}
		}
		return err
	})
	if err != nil {
		return UplinkResult{}, fmt.Errorf("store: %s %s from center %s: %w", it.Kind, it.ID, it.CenterID, err)
	}
	return res, nil
}

// centerWorker checks that a worker named in an upload belongs to the
// center. ok is false with the verdict to give when not: retry while the
// enrolment may still be on its way, rejected for another organisation's.
func centerWorker(ctx context.Context, tx *sql.Tx, centerID, workerID string) (UplinkResult, bool, error) {
	var org string
	err := tx.QueryRowContext(ctx, `SELECT org_id FROM users WHERE id = ?`, workerID).Scan(&org)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return UplinkResult{Status: UplinkRetry, Reason: fmt.Sprintf("user %s is not enrolled yet; send the enrolment, then this again", workerID)}, false, nil
	case err != nil:
		return UplinkResult{}, false, err
	case org != centerID:
		return UplinkResult{Status: UplinkRejected, Reason: fmt.Sprintf("user %s belongs to another organisation", workerID)}, false, nil
	}
	return UplinkResult{}, true, nil
}

// CenterWorker checks, inside an upload's transaction, that a worker named
// in the upload belongs to the center. ok is false with the verdict to give
// when not: retry while the enrolment may still be on its way, rejected
// for another organisation's.
func CenterWorker(ctx context.Context, tx *Tx, centerID, workerID string) (UplinkResult, bool, error) {
	return centerWorker(ctx, tx.tx, centerID, workerID)
}
