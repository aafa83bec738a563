package uplink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// What the hub keeps of the items centers upload, each once by the id the
// center made for it (uplink_items), and of each center's link
// (center_links).

// seen returns the status first given to an item, if it was received
// before.
func seen(ctx context.Context, r store.Reader, id string) (string, bool, error) {
	var status string
	err := r.QueryRowContext(ctx, `SELECT status FROM uplink_items WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return status, err == nil, err
}

// duplicate is the verdict on an item received before with status.
func duplicate(status string) wire.Verdict {
	return wire.Verdict{Status: wire.StatusDuplicate, Reason: "first answered " + status}
}

// record keeps the verdict given to an item, so that a replay is answered
// duplicate.
func (h *Hub) record(ctx context.Context, tx *store.Tx, centerID string, it wire.Item, v wire.Verdict) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO uplink_items (id, center_id, seq, kind, status, reason, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, it.ID, centerID, it.Seq, it.Kind, v.Status, v.Reason, store.TimeText(h.Store.Now()))
	return err
}

// once stores one item a center uploaded exactly once: a replay is
// answered duplicate; otherwise receive runs in a savepoint of the
// upload's transaction and its verdict is recorded, unless it is retry
// (nothing stored, not final).
func (h *Hub) once(ctx context.Context, centerID string, it wire.Item, receive func(tx *store.Tx) (wire.Verdict, error)) (wire.Verdict, error) {
	var v wire.Verdict
	err := h.Store.Write(ctx, func(tx *store.Tx) error {
		if status, ok, err := seen(ctx, tx, it.ID); err != nil || ok {
			v = duplicate(status)
			return err
		}
		err := tx.Savepoint(ctx, func() error {
			var err error
			if v, err = receive(tx); err != nil || v.Status == wire.StatusRetry {
				return err
			}
			return h.record(ctx, tx, centerID, it, v)
		})
		if tx.IsUniqueViolation(err) {
			// Another hub process on the same database stored this item
			// at the same moment (the center retried elsewhere).
			if status, ok, serr := seen(ctx, tx, it.ID); serr == nil && ok {
				v = duplicate(status)
				return nil
			}
		}
		return err
	})
	if err != nil {
		return wire.Verdict{}, fmt.Errorf("%s %s from center %s: %w", it.Kind, it.ID, centerID, err)
	}
	return v, nil
}

// reject refuses an item before any domain sees it (bad shape, unknown
// kind) and records the refusal, so that a replay gets the same answer.
// An id that is not one the center made cannot be recorded.
func (h *Hub) reject(ctx context.Context, centerID string, it wire.Item, format string, args ...any) (wire.Verdict, error) {
	v := wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf(format, args...)}
	if !work.ValidID(it.ID) {
		return v, nil
	}
	if err := h.Store.Write(ctx, func(tx *store.Tx) error { return h.record(ctx, tx, centerID, it, v) }); err != nil {
		return wire.Verdict{}, err
	}
	return v, nil
}

// touchCenter records a center's contact: its protocol and version, and
// the backlog of records it says are waiting to upload.
func (h *Hub) touchCenter(ctx context.Context, centerID string, protocol int, version string, backlog int) error {
	_, err := h.Store.Exec(ctx, `INSERT INTO center_links (center_id, protocol, version, last_contact, backlog)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (center_id) DO UPDATE SET protocol = excluded.protocol, version = excluded.version,
			last_contact = excluded.last_contact, backlog = excluded.backlog`, centerID, protocol, version, store.TimeText(h.Store.Now()), backlog)
	if err != nil {
		return fmt.Errorf("uplink: touch center %s: %w", centerID, err)
	}
	return nil
}
