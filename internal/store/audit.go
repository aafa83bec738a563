package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// The audit log's hash chain (migration 0015).

type auditRow struct {
	ID, OrgID, Actor, Action, Subject, Detail, At, CreatedAt string
}

// auditHash is an event's hash: SHA-256 over the previous event's hash,
// its number and each of its fields.
func auditHash(seq int64, prev string, r auditRow) string {
	h := sha256.New()
	fmt.Fprintf(h, "banyan audit v1\n%s\n%d\n", prev, seq)
	for _, f := range []string{r.ID, r.OrgID, r.Actor, r.Action, r.Subject, r.Detail, r.At, r.CreatedAt} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Events     int    `json:"events"`
	Head       string `json:"head"`
	Unchained  int    `json:"unchained"` // written before the chain began
	Problem    string `json:"problem,omitempty"`
	ProblemSeq int64  `json:"problem_seq,omitempty"`
}

// VerifyAudit recomputes the audit log's chain and names the first event
// that was edited, deleted or reordered.
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE seq IS NULL`).Scan(&rep.Unchained); err != nil {
		return rep, fmt.Errorf("store: verify audit: %w", err)
	}
	prev, want := GenesisHash, int64(1)
	errStop := errors.New("stop")
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT seq, prev_hash, hash, id, org_id, actor, action, subject, detail, at, created_at
			FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1000`, want)
		if err != nil {
			return rep, fmt.Errorf("store: verify audit: %w", err)
		}
		type chained struct {
			seq        int64
			prev, hash string
			auditRow
		}
		page, err := collect(rows, func(r scanner) (chained, error) {
			var c chained
			return c, r.Scan(&c.seq, &c.prev, &c.hash, &c.ID, &c.OrgID, &c.Actor, &c.Action, &c.Subject, &c.Detail, &c.At, &c.CreatedAt)
		})
		if err != nil {
			return rep, fmt.Errorf("store: verify audit: %w", err)
		}
		if len(page) == 0 {
			break
		}
		err = func() error {
			for _, c := range page {
				switch {
				case c.seq != want:
					rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d is missing (the next event found is %d)", want, c.seq), want
				case c.prev != prev:
					rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d does not follow event %d", c.seq, c.seq-1), c.seq
				case auditHash(c.seq, c.prev, c.auditRow) != c.hash:
					rep.Problem, rep.ProblemSeq = fmt.Sprintf("event %d (%s) does not match its hash: it was edited", c.seq, c.ID), c.seq
				}
				if rep.Problem != "" {
					return errStop
				}
				rep.Events++
				prev, want, rep.Head = c.hash, want+1, c.hash
			}
			return nil
		}()
		if err != nil {
			break
		}
	}
	if rep.Head == "" {
		rep.Head = GenesisHash
	}
	return rep, nil
}
