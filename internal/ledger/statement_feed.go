package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/feed"
	"banyan/internal/store"
)

// A village center's workers see the statement the hub computed: it comes
// down the center's feed (kind "statement"), and the center keeps the last
// one of each worker with the hub's time of it. The center computes
// nothing of it, by its own clock or otherwise.

// StatementDays is how many days, up to today, the desk's statement
// covers.
const StatementDays = 28

// RecentStatement is a worker's statement over the StatementDays (UTC)
// up to now.
func RecentStatement(ctx context.Context, st *store.Store, workerID string, now time.Time, minimumWage int64) (Statement, error) {
	return recentStatement(ctx, st.Read(ctx), workerID, now, minimumWage)
}

func recentStatement(ctx context.Context, q store.Reader, workerID string, now time.Time, minimumWage int64) (Statement, error) {
	return makeStatement(ctx, q, workerID, now.AddDate(0, 0, -(StatementDays-1)), now, minimumWage)
}

// FeedStatement is a feed event: a worker's statement as the hub computed
// it, and when, by the hub's clock.
type FeedStatement struct {
	Statement
	ComputedAt time.Time `json:"computed_at"`
}

// statementLag is how far before a statement was computed the worker's
// records are watched for a change next: a record stamped before the
// statement was read but committed after it is still found, as long as
// its transaction took less than this.
const statementLag = time.Minute

// maxStatements bounds the statements one read of a center's feed
// computes (a center's first read after this hub's upgrade finds every
// worker who worked in the last StatementDays); the rest are due at the
// next read.
const maxStatements = 200

// SendStatements appends to a village center's feed the statement of each
// of its workers whose pay, answers or training changed since the hub last
// computed theirs: at most one per worker every interval, and none when it
// comes out the same as the last. The hub calls it as the center reads its
// feed, so a center away for days gets one statement per worker when it is
// back, not one per change.
func SendStatements(ctx context.Context, st *store.Store, centerID string, every time.Duration, minimumWage int64) error {
	now := st.Now()
	window := store.TimeText(now.AddDate(0, 0, -(StatementDays - 1)).UTC().Truncate(24 * time.Hour))
	type due struct{ workerID, digest string }
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT u.id, coalesce(s.digest, '') FROM users u
			LEFT JOIN statement_sends s ON s.worker_id = u.id
		WHERE u.org_id = ? AND u.role = 'worker' AND (s.computed_at IS NULL OR s.computed_at <= ?) AND (
			EXISTS (SELECT 1 FROM money_events e WHERE e.worker_id = u.id AND e.created_at >= coalesce(s.watch_from, ?)
				AND e.kind IN ('pay', 'bonus', 'training'))
			OR EXISTS (SELECT 1 FROM assignments a WHERE a.worker_id = u.id AND a.state = 'submitted'
				AND a.submitted_at >= coalesce(s.watch_from, ?))
			OR EXISTS (SELECT 1 FROM activity v WHERE v.worker_id = u.id AND v.what = 'training'
				AND v.created_at >= coalesce(s.watch_from, ?)))
		ORDER BY u.id LIMIT ?`, centerID, store.TimeText(now.Add(-every)), window, window, window, maxStatements)
	if err != nil {
		return fmt.Errorf("ledger: statements due: %w", err)
	}
	dues, err := store.Collect(rows, func(r store.Scanner) (due, error) {
		var d due
		return d, r.Scan(&d.workerID, &d.digest)
	})
	if err != nil || len(dues) == 0 {
		return err
	}
	type computed struct {
		s      FeedStatement
		digest string
		same   bool
	}
	out := make([]computed, 0, len(dues))
	for _, d := range dues {
		s, err := RecentStatement(ctx, st, d.workerID, now, minimumWage)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		digest := hex.EncodeToString(sum[:])
		out = append(out, computed{s: FeedStatement{Statement: s, ComputedAt: now}, digest: digest, same: digest == d.digest})
	}
	at, from := store.TimeText(now), store.TimeText(now.Add(-statementLag))
	err = st.Write(ctx, func(tx *store.Tx) error {
		for _, c := range out {
			if _, err := tx.ExecContext(ctx, `INSERT INTO statement_sends (worker_id, digest, computed_at, watch_from) VALUES (?, ?, ?, ?)
				ON CONFLICT (worker_id) DO UPDATE SET digest = excluded.digest, computed_at = excluded.computed_at,
					watch_from = excluded.watch_from`, c.s.WorkerID, c.digest, at, from); err != nil {
				return err
			}
			if c.same {
				continue
			}
			if err := feed.Append(ctx, tx, centerID, "statement", c.s, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: send statements: %w", err)
	}
	return nil
}

// StatementSnapshot is the current statement of each of a center's
// workers, for the center starting its feed afresh.
func StatementSnapshot(ctx context.Context, q store.Reader, centerID string, now time.Time, minimumWage int64) ([]FeedStatement, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM users WHERE org_id = ? AND role = 'worker' ORDER BY id`, centerID)
	if err != nil {
		return nil, fmt.Errorf("ledger: statement snapshot: %w", err)
	}
	ids, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: statement snapshot: %w", err)
	}
	out := make([]FeedStatement, 0, len(ids))
	for _, id := range ids {
		s, err := recentStatement(ctx, q, id, now, minimumWage)
		if err != nil {
			return nil, err
		}
		out = append(out, FeedStatement{Statement: s, ComputedAt: now})
	}
	return out, nil
}

// ApplyStatement keeps, at a center, the statement the hub sent of a
// worker, in place of the one before.
func ApplyStatement(ctx context.Context, tx *store.Tx, f FeedStatement, _ time.Time) error {
	if f.WorkerID == "" || f.ComputedAt.IsZero() {
		return fmt.Errorf("ledger: statement: worker_id and computed_at are required")
	}
	body, err := json.Marshal(f.Statement)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO center_statements (worker_id, body, computed_at) VALUES (?, ?, ?)
		ON CONFLICT (worker_id) DO UPDATE SET body = excluded.body, computed_at = excluded.computed_at`,
		f.WorkerID, string(body), store.TimeText(f.ComputedAt))
	return err
}

// ClearStatements forgets, at a center, every statement the hub sent,
// before a snapshot brings them all again.
func ClearStatements(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM center_statements`)
	return err
}

// KeptStatement is, at a center, the statement the hub last sent of a
// worker, with when the hub computed it; store.ErrNotFound before one has
// come.
func KeptStatement(ctx context.Context, st *store.Store, workerID string) (FeedStatement, error) {
	var body, at string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT body, computed_at FROM center_statements WHERE worker_id = ?`, workerID).Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedStatement{}, fmt.Errorf("ledger: statement of %s: %w", workerID, store.ErrNotFound)
	}
	if err != nil {
		return FeedStatement{}, fmt.Errorf("ledger: statement of %s: %w", workerID, err)
	}
	f := FeedStatement{ComputedAt: store.ParseTimeText(at)}
	if err := json.Unmarshal([]byte(body), &f.Statement); err != nil {
		return FeedStatement{}, fmt.Errorf("ledger: statement of %s: %w", workerID, err)
	}
	return f, nil
}
