package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// This file is a village center's outbox: records born at the center
// wait here to go up to the hub.

// OutboxRow is one record waiting to go up.
type OutboxRow struct {
	Seq  int64
	ID   string
	Kind string
	Body json.RawMessage
}

// AppendOutbox adds a record born at a center to the outbox inside a
// domain's transaction (training's spans and course answers), to go up to
// the hub. It moves with the outbox to uplink.
func (s *Store) AppendOutbox(ctx context.Context, tx *Tx, id, kind string, body any) error {
	return s.appendOutbox(ctx, tx.tx, id, kind, body)
}

// appendOutbox adds a record to the outbox inside the caller's transaction.
func (s *Store) appendOutbox(ctx context.Context, tx *sql.Tx, id, kind string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// seq is computed rather than left to the engine so the statement is
	// the same on every engine; the writer transaction serialises it.
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (seq, id, kind, body, created_at)
		VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?, ?, ?, ?)`, id, kind, string(raw), ts(s.now()))
	return err
}

// PendingOutbox returns up to limit unacknowledged records, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxRow, error) {
	return s.PendingOutboxAfter(ctx, 0, limit)
}

// PendingOutboxAfter returns up to limit unacknowledged records after seq,
// oldest first, for a sender with chunks already in flight.
func (s *Store) PendingOutboxAfter(ctx context.Context, seq int64, limit int) ([]OutboxRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, kind, body FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	return collect(rows, func(r scanner) (OutboxRow, error) {
		var o OutboxRow
		var body string
		err := r.Scan(&o.Seq, &o.ID, &o.Kind, &body)
		o.Body = json.RawMessage(body)
		return o, err
	})
}

// AckOutbox marks records answered by the hub, with its verdict.
func (s *Store) AckOutbox(ctx context.Context, acks map[string][2]string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		for id, a := range acks {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET acked_at = ?, status = ?, reason = ? WHERE id = ? AND acked_at IS NULL`,
				now, a[0], a[1], id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: ack outbox: %w", err)
	}
	return nil
}

// OutboxWith counts outbox records whose body contains text: a check that
// something erased is gone from the outbox too.
func (s *Store) OutboxWith(ctx context.Context, text string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE body LIKE ?`, "%"+text+"%").Scan(&n)
	return n, err
}
