package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"

	ncruces "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/vfs/adiantum" // the "adiantum" encrypting VFS
)

// Every SQLite database, plain or encrypted at rest, is opened through one
// build of SQLite: github.com/ncruces/go-sqlite3 (SQLite compiled to Wasm,
// then to Go), whose "adiantum" file layer encrypts every page, the WAL
// and temporary files when a database has a key. It was chosen over a
// second build for plain databases by measurement (docs/performance.md,
// "One SQLite engine").
//
// SQLite parses every statement it runs, and the same few dozen
// statements run over and over: parsing was the largest share of a busy
// hub's CPU. The driver registered here keeps each connection's prepared
// statements (those with arguments; a statement without is often several,
// as migrations are) and reuses them.

const sqliteDriverName = "banyan-sqlite"

func init() {
	sql.Register(sqliteDriverName, cachingDriver{base: &ncruces.SQLite{}})
}

type cachingDriver struct{ base driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	// The writer's statements are never interrupted: SQLite rolls back
	// the whole transaction when a write inside it is, and one writer
	// transaction holds several callers' work (see group.go). A caller
	// that gives up still has its statement finish; its piece is then
	// rolled back to its savepoint or committed, and it is told which.
	steady := strings.Contains(name, "_txlock=immediate")
	return &cachingConn{passConn: passConn{c}, stmts: map[string]*cachedStmt{}, steady: steady}, nil
}

// maxCached bounds a connection's statements; past it the cache starts
// over.
const maxCached = 256

type cachedStmt struct {
	s    driver.Stmt
	busy bool // rows of it are open
}

// cachingConn is used by one goroutine at a time (database/sql sees to
// it), so its cache needs no lock.
type cachingConn struct {
	passConn
	stmts  map[string]*cachedStmt
	steady bool
}

// ctx is what the connection's statements run under.
func (c *cachingConn) ctx(ctx context.Context) context.Context {
	if c.steady {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmt returns a prepared statement for q and a func to call when done
// with it. A statement whose rows are still open is not shared: a second
// one is prepared and closed after use.
func (c *cachingConn) stmt(ctx context.Context, q string) (driver.Stmt, func(), error) {
	if cs, ok := c.stmts[q]; ok && !cs.busy {
		cs.busy = true
		return cs.s, func() { cs.busy = false }, nil
	}
	s, err := c.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := c.stmts[q]; ok {
		return s, func() { s.Close() }, nil
	}
	if len(c.stmts) >= maxCached {
		for k, cs := range c.stmts {
			if !cs.busy {
				cs.s.Close()
				delete(c.stmts, k)
			}
		}
	}
	cs := &cachedStmt{s: s, busy: true}
	c.stmts[q] = cs
	return s, func() { cs.busy = false }, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ctx = c.ctx(ctx)
	if e, ok := c.c.(driver.ExecerContext); ok && len(args) == 0 {
		return e.ExecContext(ctx, q, args)
	}
	s, done, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	ctx = c.ctx(ctx)
	if qc, ok := c.c.(driver.QueryerContext); ok && len(args) == 0 {
		return qc.QueryContext(ctx, q, args)
	}
	s, done, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		done()
		return nil, err
	}
	return &releasingRows{Rows: rows, done: done}, nil
}

// releasingRows frees its statement for reuse when closed.
type releasingRows struct {
	driver.Rows
	done func()
	once sync.Once
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

// The optional interfaces of the rows, passed through.
func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// CheckNamedValue sends a value of no standard driver type (a named string
// type, a plain int) through database/sql's own conversion first: the
// statements are prepared here, so the driver's statement-level
// conversion never runs.
func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if !driver.IsValue(nv.Value) {
		return driver.ErrSkip
	}
	return c.passConn.CheckNamedValue(nv)
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.c.Prepare(q) }

func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *cachingConn) Close() error {
	for _, cs := range c.stmts {
		cs.s.Close()
	}
	c.stmts = nil
	return c.c.Close()
}
