// Package audit owns the audit log: who did what to which record, and
// when — every hub staff change, permission change and export, the CLI's
// admin actions, and the events village centers send up. Events are kept
// by id, never with a request's body, in a SHA-256 hash chain (migration
// 0015), so an edited, deleted or reordered event is found by Verify.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"banyan/internal/store"
	"banyan/internal/uplink/wire"
)

// Record is one audit event as its author gives it. An event born at a
// village center goes up as a wire.Audit.
type Record struct {
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

// Event is one entry of the audit log.
type Event struct {
	ID    string `json:"id"`
	OrgID string `json:"org_id"`
	Record
}

// row is an event as the chain hashes it.
type row struct {
	ID, OrgID, Actor, Action, Subject, Detail, At, CreatedAt string
}

// hash is an event's hash: SHA-256 over the previous event's hash, its
// number and each of its fields.
func hash(seq int64, prev string, r row) string {
	h := sha256.New()
	fmt.Fprintf(h, "banyan audit v1\n%s\n%d\n", prev, seq)
	for _, f := range []string{r.ID, r.OrgID, r.Actor, r.Action, r.Subject, r.Detail, r.At, r.CreatedAt} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Append adds an event of organisation orgID under id to the chain, inside
// tx: one event at a time takes the next number.
func Append(ctx context.Context, tx *store.Tx, id, orgID string, r Record, now time.Time) error {
	if err := tx.Serialize(ctx, "audit"); err != nil {
		return err
	}
	var seq int64
	prev := store.GenesisHash
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	seq++
	e := row{ID: id, OrgID: orgID, Actor: r.Actor, Action: r.Action, Subject: r.Subject, Detail: r.Detail,
		At: store.TimeText(r.At), CreatedAt: store.TimeText(now)}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (id, org_id, actor, action, subject, detail, at, created_at, seq, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, orgID, r.Actor, r.Action, r.Subject, r.Detail, e.At, e.CreatedAt, seq, prev, hash(seq, prev, e))
	return err
}

// Log records an event of organisation orgID now, by the store's clock; at
// a village center it also goes into the outbox, for the hub.
func Log(ctx context.Context, st *store.Store, orgID string, r Record) (string, error) {
	r.At = st.Now()
	id, err := st.Born(ctx, wire.KindAudit, wire.Audit(r), func(tx *store.Tx, id string, now time.Time) error {
		return Append(ctx, tx, id, orgID, r, now)
	})
	if err != nil {
		return "", fmt.Errorf("audit: log %s: %w", r.Action, err)
	}
	return id, nil
}

// List returns an organisation's events (every organisation's when orgID
// is empty), by id.
func List(ctx context.Context, st *store.Store, orgID string, p store.Page) ([]Event, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT id, org_id, actor, action, subject, detail, at FROM audit_log
		WHERE (? = '' OR org_id = ?) AND id > ? ORDER BY id LIMIT ?`, orgID, orgID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (Event, error) {
		var e Event
		var at string
		err := r.Scan(&e.ID, &e.OrgID, &e.Actor, &e.Action, &e.Subject, &e.Detail, &at)
		e.At = store.ParseTimeText(at)
		return e, err
	})
}

// Report is what Verify found.
type Report struct {
	Events     int    `json:"events"`
	Head       string `json:"head"`
	Unchained  int    `json:"unchained"` // written before the chain began
	Problem    string `json:"problem,omitempty"`
	ProblemSeq int64  `json:"problem_seq,omitempty"`
}

// Verify recomputes the chain and names the first event that was edited,
// deleted or reordered. A cut-off tail still verifies: compare the head
// with one printed earlier.
func Verify(ctx context.Context, st *store.Store) (Report, error) {
	var rep Report
	db := st.Read(ctx)
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE seq IS NULL`).Scan(&rep.Unchained); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	prev, want := store.GenesisHash, int64(1)
	type chained struct {
		seq        int64
		prev, hash string
		row
	}
	for {
		rows, err := db.QueryContext(ctx, `SELECT seq, prev_hash, hash, id, org_id, actor, action, subject, detail, at, created_at
			FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1000`, want)
		if err != nil {
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		page, err := store.Collect(rows, func(r store.Scanner) (chained, error) {
			var c chained
			return c, r.Scan(&c.seq, &c.prev, &c.hash, &c.ID, &c.OrgID, &c.Actor, &c.Action, &c.Subject, &c.Detail, &c.At, &c.CreatedAt)
		})
		if err != nil {
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			switch {
			case c.seq != want:
				rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d is missing (the next event found is %d)", want, c.seq), want
			case c.prev != prev:
				rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d does not follow event %d", c.seq, c.seq-1), c.seq
			case hash(c.seq, c.prev, c.row) != c.hash:
				rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d (%s) does not match its hash: it was edited", c.seq, c.ID), c.seq
			}
			if rep.Problem != "" {
				return rep, nil
			}
			rep.Events++
			prev, want, rep.Head = c.hash, want+1, c.hash
		}
	}
	if rep.Head == "" {
		rep.Head = store.GenesisHash
	}
	return rep, nil
}
