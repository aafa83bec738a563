// Package feed owns the hub's down feed to village centers: the events
// the hub keeps for each center (a skill changed, a project changed, a
// course, a qualification's verdict, a wage warning, a worker's earnings
// statement, leases recalled), read by cursor with a full snapshot when a
// center starts afresh, and, at a center, applied in order with the
// cursor to go on from, in one transaction.
//
// Domains append events with Append, in the transaction that decides
// them, or when the center reads its feed (Kind.Refresh). Which kinds
// there are, what a snapshot of each holds and how a center applies each
// are the domains' (dispatch, training, ledger) and the center's: the
// composition roots list them in a Kinds value, so this package imports
// no domain.
package feed

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"banyan/internal/store"
	"banyan/internal/uplink/wire"
)

// Append adds an event to one center's feed inside a domain's
// transaction, at now (store.TimeText). The center reads it after the
// events before it, once the transaction commits.
func Append(ctx context.Context, tx *store.Tx, centerID, kind string, body any, now string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("feed: append %s: %w", kind, err)
	}
	// The feed numbers its events itself (max + 1): one writer at a time.
	if err := tx.Serialize(ctx, "feed"); err != nil {
		return fmt.Errorf("feed: append %s: %w", kind, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO feed (seq, center_id, kind, body, created_at)
		VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM feed), ?, ?, ?, ?)`, centerID, kind, string(raw), now); err != nil {
		return fmt.Errorf("feed: append %s: %w", kind, err)
	}
	return nil
}

// Kind is one kind of event: its name on the wire, what a snapshot holds
// of it on the hub, and how a center keeps it. The hub's list sets
// Snapshot (and Refresh), a center's sets Apply (and Clear); any may be
// nil.
type Kind struct {
	Name string
	// Snapshot lists the kind's event bodies a center starting its feed
	// afresh gets, in the order it applies them.
	Snapshot func(ctx context.Context, r store.Reader, centerID string) ([]json.RawMessage, error)
	// Refresh appends, on the hub, the kind's events that are due when a
	// center reads its feed: for figures that change with every answer (a
	// worker's statement), which are sent when the center asks, at most so
	// often, rather than appended on each change.
	Refresh func(ctx context.Context, st *store.Store, centerID string) error
	// Clear forgets what the center holds of the kind, before a snapshot
	// brings it all again.
	Clear func(ctx context.Context, tx *store.Tx) error
	// Apply keeps one event's body at the center, at now by its clock.
	Apply func(ctx context.Context, tx *store.Tx, body json.RawMessage, now time.Time) error
}

// Kinds lists the feed's kinds, in the order a snapshot holds them. It is
// built once by a composition root and only read after.
type Kinds []Kind

// SnapshotOf makes a Kind's Snapshot of a domain's function that lists
// bodies of type T.
func SnapshotOf[T any](f func(ctx context.Context, r store.Reader, centerID string) ([]T, error)) func(context.Context, store.Reader, string) ([]json.RawMessage, error) {
	return func(ctx context.Context, r store.Reader, centerID string) ([]json.RawMessage, error) {
		bodies, err := f(ctx, r, centerID)
		if err != nil {
			return nil, err
		}
		out := make([]json.RawMessage, len(bodies))
		for i, b := range bodies {
			if out[i], err = json.Marshal(b); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// ApplyOf makes a Kind's Apply of a domain's function that keeps a body of
// type T.
func ApplyOf[T any](f func(ctx context.Context, tx *store.Tx, body T, now time.Time) error) func(context.Context, *store.Tx, json.RawMessage, time.Time) error {
	return func(ctx context.Context, tx *store.Tx, body json.RawMessage, now time.Time) error {
		var v T
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return f(ctx, tx, v, now)
	}
}

// Read returns, on the hub, the center's feed from cursor, up to limit
// events, and the cursor to ask with next. A cursor c means "every event
// before sequence c has been applied". Cursor 0 (a center's first sync)
// and a cursor the hub did not give (ahead of its feed) get a full
// snapshot with reset set: each kind's Snapshot, in the order of ks.
// Each kind's Refresh runs first, so the events it appends are read, or
// are behind the snapshot.
func (ks Kinds) Read(ctx context.Context, st *store.Store, centerID string, cursor int64, limit int) (events []wire.FeedEvent, next int64, reset bool, err error) {
	for _, k := range ks {
		if k.Refresh == nil {
			continue
		}
		if err := k.Refresh(ctx, st, centerID); err != nil {
			return nil, 0, false, fmt.Errorf("feed: refresh of %s: %w", k.Name, err)
		}
	}
	r := st.Read(ctx)
	var top int64
	if err := r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM feed`).Scan(&top); err != nil {
		return nil, 0, false, fmt.Errorf("feed: %w", err)
	}
	if cursor <= 0 || cursor > top+1 {
		snap := []wire.FeedEvent{}
		for _, k := range ks {
			if k.Snapshot == nil {
				continue
			}
			bodies, err := k.Snapshot(ctx, r, centerID)
			if err != nil {
				return nil, 0, false, fmt.Errorf("feed: snapshot of %s: %w", k.Name, err)
			}
			for _, b := range bodies {
				snap = append(snap, wire.FeedEvent{Kind: k.Name, Body: b})
			}
		}
		return snap, top + 1, true, nil
	}
	rows, err := r.QueryContext(ctx, `SELECT seq, kind, body FROM feed WHERE center_id = ? AND seq >= ? ORDER BY seq LIMIT ?`,
		centerID, cursor, limit)
	if err != nil {
		return nil, 0, false, fmt.Errorf("feed: %w", err)
	}
	events, err = store.Collect(rows, func(r store.Scanner) (wire.FeedEvent, error) {
		var e wire.FeedEvent
		var body string
		err := r.Scan(&e.Seq, &e.Kind, &body)
		e.Body = json.RawMessage(body)
		return e, err
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("feed: %w", err)
	}
	next = top + 1
	if len(events) == limit {
		next = events[len(events)-1].Seq + 1
	}
	return events, next, false, nil
}

// Apply keeps, at a center, the events the hub sent and the cursor to
// continue from, in one transaction. reset (a snapshot) clears what the
// center held of each kind first. A kind not in ks is one this center
// does not know yet: it is skipped.
func (ks Kinds) Apply(ctx context.Context, st *store.Store, events []wire.FeedEvent, next int64, reset bool) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		if reset {
			for _, k := range ks {
				if k.Clear == nil {
					continue
				}
				if err := k.Clear(ctx, tx); err != nil {
					return fmt.Errorf("clear %s: %w", k.Name, err)
				}
			}
		}
		for _, e := range events {
			k, ok := ks.kind(e.Kind)
			if !ok || k.Apply == nil {
				continue
			}
			if err := k.Apply(ctx, tx, e.Body, st.Now()); err != nil {
				return fmt.Errorf("feed event %d (%s): %w", e.Seq, e.Kind, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO center_meta (key, value) VALUES ('feed_cursor', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(next, 10))
		return err
	})
	if err != nil {
		return fmt.Errorf("feed: apply: %w", err)
	}
	return nil
}

// kind finds the kind named name.
func (ks Kinds) kind(name string) (Kind, bool) {
	for _, k := range ks {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Cursor is where the center's feed continues from; 0 before the first
// read.
func Cursor(ctx context.Context, st *store.Store) (int64, error) {
	var v string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT value FROM center_meta WHERE key = 'feed_cursor'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("feed: cursor: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}
