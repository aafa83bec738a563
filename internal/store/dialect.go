package store

import (
	"context"
	"database/sql"
	"strings"
)

// dialect is the seam between database engines. Everything else in this
// package is SQL that SQLite and PostgreSQL both accept; what they do not
// share goes here, one method each, with the reason.
type dialect interface {
	// name is the engine's name, for messages.
	name() string
	// isUniqueViolation reports whether err is a unique-constraint failure:
	// the engines report it with different codes and texts.
	isUniqueViolation(err error) bool
	// lockSkip is appended to the SELECT that picks a task to hand out;
	// table is the alias of the rows to lock (not the joined ones).
	// PostgreSQL needs FOR UPDATE OF … SKIP LOCKED so concurrent hub
	// processes don't pick the same row; SQLite serialises writers and has
	// no such clause.
	lockSkip(table string) string
	// forUpdate is appended to a SELECT of one row that the transaction
	// goes on to change on what it read: PostgreSQL locks the row so
	// concurrent transactions take turns; SQLite has one writer.
	forUpdate() string
	// forUpdateOf is forUpdate for a join: only the rows of the table
	// with that alias are locked.
	forUpdateOf(alias string) string
	// serialize makes the rest of tx run alone among transactions that
	// serialize on the same key, for the few writes that number rows
	// themselves (max + 1). SQLite has one writer already.
	serialize(ctx context.Context, tx *sql.Tx, key string) error
	// migrationSQL adapts a migration's column types: SQLite's INTEGER is
	// 64-bit and REAL double precision; PostgreSQL's are not.
	migrationSQL(sql string) string
	// savepoint runs fn so that a failure in it (a unique violation the
	// caller answers, say) leaves tx usable: PostgreSQL aborts the whole
	// transaction on any error unless it was inside a savepoint.
	savepoint(ctx context.Context, tx *sql.Tx, fn func() error) error
	// runAlone runs fn unless another process sharing the database is
	// running the job of that name now; ran says whether it did. A SQLite
	// database has one hub process.
	runAlone(ctx context.Context, db *sql.DB, job string, fn func(context.Context) error) (ran bool, err error)
	// insertRows is the statement that inserts n rows at once (see
	// Tx.InsertRows); cols are a column's one value or, as a []string,
	// its value in each row.
	insertRows(head string, n int, cols []any) (query string, args []any)
}

// SQLite takes the rows as one statement of many rows.
func (sqliteDialect) insertRows(head string, n int, cols []any) (string, []any) {
	args := make([]any, 0, n*len(cols))
	for i := range n {
		for _, c := range cols {
			if each, ok := c.([]string); ok {
				args = append(args, each[i])
			} else {
				args = append(args, c)
			}
		}
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + "),"
	return head + `VALUES ` + strings.TrimSuffix(strings.Repeat(row, n), ","), args
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (sqliteDialect) lockSkip(string) string { return "" }

func (sqliteDialect) forUpdate() string { return "" }

func (sqliteDialect) forUpdateOf(string) string { return "" }

func (sqliteDialect) serialize(context.Context, *sql.Tx, string) error { return nil }

func (sqliteDialect) migrationSQL(sql string) string { return sql }

func (sqliteDialect) savepoint(_ context.Context, _ *sql.Tx, fn func() error) error { return fn() }

func (sqliteDialect) runAlone(ctx context.Context, _ *sql.DB, _ string, fn func(context.Context) error) (bool, error) {
	return true, fn(ctx)
}
