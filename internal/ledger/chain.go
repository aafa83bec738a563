package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/store"
)

// The chain's rows: money events waiting to be posted, posting batches and
// their entries, and the transaction that appends a batch.

// MoneyEvent is one event waiting to be posted, or posted.
type MoneyEvent struct {
	ID, Kind, Ref, ProjectID, ClientID, WorkerID, CenterID, Currency string
	ClientPrice, WorkerPay, CenterShare                              int64
	CreatedAt                                                        string
}

// Batch is one posting batch of the ledger.
type Batch struct {
	Seq       int64
	PrevHash  string
	Hash      string
	Entries   int
	CreatedAt string
}

// Entry is one line of the journal. Amount is signed: a debit is
// positive, a credit negative; a batch's amounts sum to zero.
type Entry struct {
	ID, Account, Party string
	Amount             int64
	Currency, EventID  string
	CreatedAt          string
}

// buildFunc turns the events next in line into a batch: its entries
// and its hash, given the batch's number, the previous batch's hash and
// the batch's time.
type buildFunc func(seq int64, prevHash, now string, events []MoneyEvent) ([]Entry, string, error)

// appendBatch posts up to limit waiting events as one batch, chained to
// the last, in one transaction; with several hubs, one at a time. It
// returns how many events it posted.
func appendBatch(ctx context.Context, st *store.Store, limit int, build buildFunc) (int, error) {
	posted := 0
	err := st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.Serialize(ctx, "ledger"); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, ref, coalesce(project_id, ''), client_id, coalesce(worker_id, ''), coalesce(center_id, ''),
				currency, client_price, worker_pay, center_share, created_at
			FROM money_events WHERE posted_batch IS NULL ORDER BY id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		events, err := store.Collect(rows, func(r store.Scanner) (MoneyEvent, error) {
			var e MoneyEvent
			return e, r.Scan(&e.ID, &e.Kind, &e.Ref, &e.ProjectID, &e.ClientID, &e.WorkerID, &e.CenterID, &e.Currency,
				&e.ClientPrice, &e.WorkerPay, &e.CenterShare, &e.CreatedAt)
		})
		if err != nil || len(events) == 0 {
			return err
		}
		var seq int64
		prev := store.GenesisHash
		err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM ledger_batches ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		seq++
		now := store.TimeText(st.Now())
		entries, hash, err := build(seq, prev, now, events)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_batches (seq, prev_hash, hash, entries, created_at) VALUES (?, ?, ?, ?, ?)`,
			seq, prev, hash, len(entries), now); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (id, batch_seq, account, party, amount, currency, event_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, seq, e.Account, e.Party, e.Amount, e.Currency, e.EventID, e.CreatedAt); err != nil {
				return err
			}
		}
		for _, ev := range events {
			if _, err := tx.ExecContext(ctx, `UPDATE money_events SET posted_batch = ? WHERE id = ?`, seq, ev.ID); err != nil {
				return err
			}
		}
		posted = len(events)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: append to the ledger: %w", err)
	}
	return posted, nil
}

// walk calls fn with every batch and its entries, in order.
func walk(ctx context.Context, st *store.Store, fn func(Batch, []Entry) error) error {
	var after int64
	for {
		rows, err := st.Read(ctx).QueryContext(ctx, `SELECT seq, prev_hash, hash, entries, created_at FROM ledger_batches
			WHERE seq > ? ORDER BY seq LIMIT 500`, after)
		if err != nil {
			return fmt.Errorf("ledger: read the ledger: %w", err)
		}
		batches, err := store.Collect(rows, func(r store.Scanner) (Batch, error) {
			var b Batch
			return b, r.Scan(&b.Seq, &b.PrevHash, &b.Hash, &b.Entries, &b.CreatedAt)
		})
		if err != nil {
			return fmt.Errorf("ledger: read the ledger: %w", err)
		}
		if len(batches) == 0 {
			return nil
		}
		lo, hi := batches[0].Seq, batches[len(batches)-1].Seq
		rows, err = st.Read(ctx).QueryContext(ctx, `SELECT batch_seq, id, account, party, amount, currency, event_id, created_at
			FROM ledger_entries WHERE batch_seq >= ? AND batch_seq <= ? ORDER BY batch_seq, id`, lo, hi)
		if err != nil {
			return fmt.Errorf("ledger: read the ledger: %w", err)
		}
		type row struct {
			seq int64
			Entry
		}
		all, err := store.Collect(rows, func(r store.Scanner) (row, error) {
			var e row
			return e, r.Scan(&e.seq, &e.ID, &e.Account, &e.Party, &e.Amount, &e.Currency, &e.EventID, &e.CreatedAt)
		})
		if err != nil {
			return fmt.Errorf("ledger: read the ledger: %w", err)
		}
		bySeq := map[int64][]Entry{}
		for _, e := range all {
			bySeq[e.seq] = append(bySeq[e.seq], e.Entry)
		}
		for _, b := range batches {
			if err := fn(b, bySeq[b.Seq]); err != nil {
				return err
			}
		}
		after = hi
	}
}

// totals sums each account's entries.
func totals(ctx context.Context, st *store.Store) (map[string]int64, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT account, coalesce(sum(amount), 0) FROM ledger_entries GROUP BY account`)
	if err != nil {
		return nil, fmt.Errorf("ledger: ledger totals: %w", err)
	}
	type total struct {
		account string
		sum     int64
	}
	ts, err := store.Collect(rows, func(r store.Scanner) (total, error) {
		var t total
		return t, r.Scan(&t.account, &t.sum)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: ledger totals: %w", err)
	}
	out := map[string]int64{}
	for _, t := range ts {
		out[t.account] = t.sum
	}
	return out, nil
}

// Unposted counts events waiting for the ledger.
func Unposted(ctx context.Context, st *store.Store) (int, error) {
	var n int
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM money_events WHERE posted_batch IS NULL`).Scan(&n)
	return n, err
}

// Head is the last batch's hash (store.GenesisHash for an empty ledger).
func Head(ctx context.Context, st *store.Store) (seq int64, hash string, err error) {
	err = st.Read(ctx).QueryRowContext(ctx, `SELECT seq, hash FROM ledger_batches ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.GenesisHash, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("ledger: ledger head: %w", err)
	}
	return seq, hash, nil
}
