package store

import (
	"context"
	"database/sql"
	"time"
)

// This file is what the domains run their SQL on: a transaction they are
// handed (Tx), the read side (Reader), the entry points that open them
// (Write, Read), and the helpers every domain scans with. A domain never
// begins, commits or rolls back a transaction itself: the store does, so
// SQLite's group commit and PostgreSQL's pool stay its business.

// Tx is one write transaction as a domain sees it. It is the store's own
// type rather than a *sql.Tx so that how statements reach the database
// (one at a time today; batched, later) stays the store's choice.
type Tx struct {
	tx *sql.Tx
	d  dialect
}

// ExecContext runs a statement that returns no rows.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a statement that returns rows.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a statement that returns at most one row.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

// ForUpdate is the clause that locks the rows a SELECT reads until the
// transaction ends (PostgreSQL); empty on SQLite, which has one writer.
func (t *Tx) ForUpdate() string { return t.d.forUpdate() }

// Serialize makes the rest of the transaction run alone among those that
// serialize on the same key: for writes that number rows themselves, or
// check what they are about to add against what is there.
func (t *Tx) Serialize(ctx context.Context, key string) error { return t.d.serialize(ctx, t.tx, key) }

// Savepoint runs fn so that a failure in it leaves the transaction usable
// (PostgreSQL aborts the whole transaction on any error otherwise).
func (t *Tx) Savepoint(ctx context.Context, fn func() error) error {
	return t.d.savepoint(ctx, t.tx, fn)
}

// IsUniqueViolation says whether err is a unique constraint refusing a row.
func (t *Tx) IsUniqueViolation(err error) bool { return t.d.isUniqueViolation(err) }

// Reader runs reads: on the reader pool, or inside the open transaction
// when the call is part of one (see InOneTx).
type Reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Write runs fn in one write transaction: committed when fn returns nil,
// rolled back otherwise. Inside InOneTx it joins the transaction open
// there.
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(&Tx{tx: tx, d: s.d}) })
}

// Read is where a read goes: the open transaction inside InOneTx, so it
// sees what that transaction wrote, or the reader pool.
func (s *Store) Read(ctx context.Context) Reader { return s.reader(ctx) }

// HasOutbox says whether the store keeps an outbox (a village center's,
// Options.Outbox): a record erased here must then be erased from the
// outbox too, or blanked there once sent.
func (s *Store) HasOutbox() bool { return s.outbox != nil }

// AppendOutbox adds a record born at a center to the outbox inside a
// domain's transaction (training's spans and course answers), to go up to
// the hub, through Options.Outbox. A hub keeps no outbox: there it does
// nothing.
func (s *Store) AppendOutbox(ctx context.Context, tx *Tx, id, kind string, body any) error {
	if s.outbox == nil {
		return nil
	}
	return s.outbox(ctx, tx, s.now(), id, kind, body)
}

// appendOutbox is AppendOutbox on the caller's *sql.Tx.
func (s *Store) appendOutbox(ctx context.Context, tx *sql.Tx, id, kind string, body any) error {
	return s.AppendOutbox(ctx, &Tx{tx: tx, d: s.d}, id, kind, body)
}

// Scanner is a row, or rows at one row, to scan.
type Scanner = scanner

// Collect scans every row with scan and closes rows; no rows is an empty,
// non-nil slice.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	return collect(rows, scan)
}

// TimeText is how a time is kept in every table: UTC, fixed width, to the
// microsecond, so that text order is time order on both engines.
func TimeText(t time.Time) string { return ts(t) }

// ParseTimeText reads a time kept by TimeText; a malformed one is zero.
func ParseTimeText(s string) time.Time { return parseTS(s) }

// GenesisHash is the previous hash of the first link of every hash chain
// the hub keeps (the ledger's batches, the audit log's events).
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Page asks for one page of a list ordered by id: the items after After, at
// most Limit of them.
type Page struct {
	After string
	Limit int
}

// eachRow calls fn for every row and closes rows.
func eachRow(rows *sql.Rows, fn func(scanner) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachRow calls fn for every row and closes rows.
func EachRow(rows *sql.Rows, fn func(Scanner) error) error { return eachRow(rows, fn) }

// Exec runs one write statement on its own, outside any transaction a
// domain opened: for writes that stand alone (a setting, a bonus kept
// once per key).
func (s *Store) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.w.ExecContext(ctx, query, args...)
}

// ParseNullTimeText reads a nullable time kept by TimeText: nil for NULL.
func ParseNullTimeText(s sql.NullString) *time.Time { return parseNullTS(s) }

// BoolInt keeps a flag as 0 or 1, which every engine takes.
func BoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// LockSkip is the clause that locks the rows of table (an alias) a SELECT
// picks and skips those another transaction holds (PostgreSQL), so
// concurrent hand-outs pick different rows; empty on SQLite, which has one
// writer.
func (t *Tx) LockSkip(table string) string { return t.d.lockSkip(table) }

// ForUpdateOf is ForUpdate for a join: only the rows of the table named
// by alias are locked.
func (t *Tx) ForUpdateOf(alias string) string { return t.d.forUpdateOf(alias) }

// InsertRows runs head, an "INSERT INTO table (columns) " clause, for n
// rows given column by column in the clause's order: a []string of n
// values is a column that varies by row, any other value is the same in
// every row. Each engine gets the statement it runs fastest.
func (t *Tx) InsertRows(ctx context.Context, head string, n int, cols ...any) error {
	if n == 0 {
		return nil
	}
	q, args := t.d.insertRows(head, n, cols)
	_, err := t.tx.ExecContext(ctx, q, args...)
	return err
}

// Notify tells the store's notifier, if any, of event inside tx (see
// Notifier).
func (s *Store) Notify(ctx context.Context, tx *Tx, event string, build func() (clientID string, body any, ok bool, err error)) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notify(ctx, tx, event, build)
}
