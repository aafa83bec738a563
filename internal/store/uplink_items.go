package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// What the hub keeps of the items centers upload (each once, by the id
// the center made for it) and of each center's link.

// Upload statuses, answered per item.
const (
	UplinkAccepted   = "accepted"
	UplinkDuplicate  = "duplicate"
	UplinkSuperseded = "superseded"
	UplinkRejected   = "rejected"
	// UplinkRetry means "not yet": nothing was stored, and the center
	// should send the item again later (its worker's enrolment has not
	// arrived, say). It is the only answer that is not final.
	UplinkRetry = "retry"
)

// UplinkItem is one record a center uploads, by the id it made for it.
type UplinkItem struct {
	ID       string
	CenterID string
	Seq      int64
	Kind     string
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// uplinkSeen returns the stored status of an item already received.
func uplinkSeen(ctx context.Context, q rowQuerier, id string) (string, bool, error) {
	var status string
	err := q.QueryRowContext(ctx, `SELECT status FROM uplink_items WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return status, err == nil, err
}

func (s *Store) recordItem(ctx context.Context, tx *sql.Tx, it UplinkItem, status, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO uplink_items (id, center_id, seq, kind, status, reason, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, it.ID, it.CenterID, it.Seq, it.Kind, status, reason, ts(s.now()))
	return err
}

// UplinkResult is the hub's reply to one uploaded item.
type UplinkResult struct {
	Status string
	Reason string
}

// UplinkSeen returns the status first given to an item, if it was
// received before.
func (s *Store) UplinkSeen(ctx context.Context, id string) (string, bool, error) {
	status, seen, err := uplinkSeen(ctx, s.reader(ctx), id)
	if err != nil {
		return "", false, fmt.Errorf("store: uplink item %s: %w", id, err)
	}
	return status, seen, nil
}

// RecordRejected notes an item refused before it reached the store (bad
// shape, unknown kind), so a replay gets the same answer.
func (s *Store) RecordRejected(ctx context.Context, it UplinkItem, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.recordItem(ctx, tx, it, UplinkRejected, reason) })
}

// TouchCenter records a center's contact: its protocol and version, and
// the backlog of records it says are waiting to upload.
func (s *Store) TouchCenter(ctx context.Context, centerID string, protocol int, version string, backlog int) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO center_links (center_id, protocol, version, last_contact, backlog)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (center_id) DO UPDATE SET protocol = excluded.protocol, version = excluded.version,
			last_contact = excluded.last_contact, backlog = excluded.backlog`, centerID, protocol, version, ts(s.now()), backlog)
	if err != nil {
		return fmt.Errorf("store: touch center %s: %w", centerID, err)
	}
	return nil
}
