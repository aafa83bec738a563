package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL. The queries of this package are written once, with ?
// placeholders as SQLite takes them; the driver registered here rewrites
// them to PostgreSQL's $1, $2 … on their way to pgx, so no query needs two
// spellings.

type pgDialect struct{}

func (pgDialect) name() string { return "postgres" }

func (pgDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// PostgreSQL takes the rows as one array per column that varies: a
// statement with a few parameters is planned and bound far faster than
// one with thousands.
func (pgDialect) insertRows(head string, _ int, cols []any) (string, []any) {
	var sel, arrays, names []string
	var shared, each []any
	for i, c := range cols {
		if v, ok := c.([]string); ok {
			name := "c" + strconv.Itoa(i)
			sel = append(sel, "u."+name)
			names = append(names, name)
			arrays = append(arrays, "?::text[]")
			each = append(each, v)
		} else {
			sel = append(sel, "?")
			shared = append(shared, c)
		}
	}
	return head + `SELECT ` + strings.Join(sel, ", ") + ` FROM unnest(` + strings.Join(arrays, ", ") + `) AS u(` +
		strings.Join(names, ", ") + `)`, append(shared, each...)
}

func (pgDialect) lockSkip(table string) string { return " FOR UPDATE OF " + table + " SKIP LOCKED" }

func (pgDialect) forUpdate() string { return " FOR UPDATE" }

func (pgDialect) forUpdateOf(alias string) string { return " FOR UPDATE OF " + alias }

// lockKey names an advisory lock.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("banyan:" + name))
	return int64(h.Sum64())
}

func (pgDialect) serialize(ctx context.Context, tx *sql.Tx, key string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockKey(key))
	return err
}

// runAlone holds a session advisory lock on one connection while fn runs;
// a hub that cannot take it skips this turn of the job.
func (pgDialect) runAlone(ctx context.Context, db *sql.DB, job string, fn func(context.Context) error) (bool, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?)`, lockKey("job:"+job)).Scan(&got); err != nil || !got {
		return false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, lockKey("job:"+job))
	return true, fn(ctx)
}

func (pgDialect) savepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT banyan_sp`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT banyan_sp`); rerr != nil {
			return errors.Join(err, rerr)
		}
		// Released too, so nested savepoints of one name do not pile up
		// as open subtransactions in a long upload.
		if _, rerr := tx.ExecContext(ctx, `RELEASE SAVEPOINT banyan_sp`); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT banyan_sp`)
	return err
}

var (
	integerType = regexp.MustCompile(`\bINTEGER\b`)
	realType    = regexp.MustCompile(`\bREAL\b`)
)

func (pgDialect) migrationSQL(sql string) string {
	return realType.ReplaceAllString(integerType.ReplaceAllString(sql, "BIGINT"), "DOUBLE PRECISION")
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// pgDriverName is the database/sql driver that rebinds placeholders.
const pgDriverName = "banyan-pgx"

func init() { sql.Register(pgDriverName, pgDriver{}) }

type pgDriver struct{}

func (pgDriver) Open(dsn string) (driver.Conn, error) {
	c, err := stdlib.GetDefaultDriver().Open(dsn)
	if err != nil {
		return nil, err
	}
	return pgConn{passConn{c}}, nil
}

// pgConn passes everything to pgx's connection, rebinding placeholders.
type pgConn struct{ passConn }

func (p pgConn) Prepare(q string) (driver.Stmt, error) { return p.c.Prepare(rebind(q)) }
func (p pgConn) Close() error                          { return p.c.Close() }

func (p pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return p.c.(driver.ConnPrepareContext).PrepareContext(ctx, rebind(q))
}

func (p pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		q = rebind(q)
	}
	return p.c.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (p pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		q = rebind(q)
	}
	return p.c.(driver.QueryerContext).QueryContext(ctx, q, args)
}

var rebound sync.Map // query → rebound query

// rebind turns ? placeholders into $1, $2 …, leaving string literals,
// quoted names and comments alone.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}
