package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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

// CenterLink is what the hub knows of one center and its link.
type CenterLink struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	CreatedAt   time.Time  `json:"created_at"`
	Protocol    int        `json:"protocol,omitempty"`
	Version     string     `json:"version,omitempty"`
	LastContact *time.Time `json:"last_contact,omitempty"`
	// Backlog is how many records the center said were waiting to upload,
	// at its last contact.
	Backlog int `json:"backlog"`
	// LeasedTasks counts the center's active leases.
	LeasedTasks int `json:"leased_tasks"`
	// Answers counts the answers received from the center's workers.
	Answers int `json:"answers"`
}

// CenterLinks lists centers with their link state, by id.
func (s *Store) CenterLinks(ctx context.Context, p Page) ([]CenterLink, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.kind, o.name, o.created_at,
			coalesce(c.protocol, 0), coalesce(c.version, ''), c.last_contact, coalesce(c.backlog, 0),
			(SELECT count(*) FROM leases l WHERE l.center_id = o.id AND l.state = 'active'),
			(SELECT count(*) FROM uplink_items i WHERE i.center_id = o.id AND i.kind = 'answer' AND i.status IN ('accepted', 'superseded'))
		FROM orgs o LEFT JOIN center_links c ON c.center_id = o.id
		WHERE o.kind = 'center' AND o.id > ? ORDER BY o.id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list centers: %w", err)
	}
	return collect(rows, func(r scanner) (CenterLink, error) {
		var c CenterLink
		var created string
		var contact sql.NullString
		err := r.Scan(&c.ID, &c.Kind, &c.Name, &created, &c.Protocol, &c.Version, &contact, &c.Backlog, &c.LeasedTasks, &c.Answers)
		c.CreatedAt = parseTS(created)
		c.LastContact = parseNullTS(contact)
		return c, err
	})
}

// AnswersPresent counts how many of the given answer ids the hub holds.
func (s *Store) AnswersPresent(ctx context.Context, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE id = ? AND state = 'submitted'`, id).Scan(&one)
		if err != nil {
			return 0, fmt.Errorf("store: answer %s: %w", id, err)
		}
		n += one
	}
	return n, nil
}

// AnswersFromOrg counts the answers the hub holds from one organisation's
// workers.
func (s *Store) AnswersFromOrg(ctx context.Context, orgID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM assignments a JOIN users u ON u.id = a.worker_id
		WHERE u.org_id = ? AND a.state = 'submitted'`, orgID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: answers from %s: %w", orgID, err)
	}
	return n, nil
}
