package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"banyan/internal/store"
)

// This file is a village center's outbox: the records born at the center
// (answers, enrolments, declarations, reviews, audit events, training's
// spans and course answers) queue here, each written in the transaction
// that makes it, until the syncer has sent them and the hub has answered.

// AppendOutbox adds a record born at a center to the outbox inside tx, to
// go up to the hub. A center gives it to its store as store.Options.Outbox,
// through which the domains append (store.Born, Store.AppendOutbox); the
// center's local store calls it for the answers it saves.
func AppendOutbox(ctx context.Context, tx *store.Tx, now time.Time, id, kind string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// seq is computed rather than left to the engine so the statement is
	// the same on every engine; the writer transaction serialises it.
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (seq, id, kind, body, created_at)
		VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?, ?, ?, ?)`, id, kind, string(raw), store.TimeText(now))
	return err
}

// OutboxRow is one record waiting to go up.
type OutboxRow struct {
	Seq  int64
	ID   string
	Kind string
	Body json.RawMessage
}

// Outbox is a village center's queue of records to go up, as the syncer
// reads it and records the hub's answers.
type Outbox struct {
	Store *store.Store
}

// Pending returns up to limit unacknowledged records, oldest first.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]OutboxRow, error) {
	return o.PendingAfter(ctx, 0, limit)
}

// PendingAfter returns up to limit unacknowledged records after seq,
// oldest first, for a sender with chunks already in flight.
func (o *Outbox) PendingAfter(ctx context.Context, seq int64, limit int) ([]OutboxRow, error) {
	rows, err := o.Store.Read(ctx).QueryContext(ctx, `SELECT seq, id, kind, body FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("uplink: outbox: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (OutboxRow, error) {
		var row OutboxRow
		var body string
		err := r.Scan(&row.Seq, &row.ID, &row.Kind, &body)
		row.Body = json.RawMessage(body)
		return row, err
	})
}

// Ack marks records answered by the hub, with its verdict: acks maps a
// record's id to its status and reason.
func (o *Outbox) Ack(ctx context.Context, acks map[string][2]string) error {
	err := o.Store.Write(ctx, func(tx *store.Tx) error {
		now := store.TimeText(o.Store.Now())
		for id, a := range acks {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET acked_at = ?, status = ?, reason = ? WHERE id = ? AND acked_at IS NULL`,
				now, a[0], a[1], id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("uplink: ack outbox: %w", err)
	}
	return nil
}

// CountWith counts outbox records whose body contains text: a check that
// something erased is gone from the outbox too.
func (o *Outbox) CountWith(ctx context.Context, text string) (int, error) {
	var n int
	err := o.Store.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE body LIKE ?`, "%"+text+"%").Scan(&n)
	return n, err
}
