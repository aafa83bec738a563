package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"banyan/internal/work"
)

// This file keeps the means the domains' records born where workers are
// (enrolments, self-declarations and their withdrawal, reviews of answers,
// audit events) are born with: at a center (Options.Outbox) each is
// written with its outbox row in one transaction. The hub receives them
// through uplink.

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
