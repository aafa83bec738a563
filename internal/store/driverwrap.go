package store

import (
	"context"
	"database/sql/driver"
)

// passConn hands a wrapped driver connection's transactions and
// housekeeping straight to it. The two drivers this package registers
// (statement caching for SQLite, placeholder rebinding for PostgreSQL)
// embed it and change only how statements are run.
type passConn struct{ c driver.Conn }

//nolint:staticcheck // Begin is part of driver.Conn
func (p passConn) Begin() (driver.Tx, error) { return p.c.Begin() }

func (p passConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return p.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (p passConn) Ping(ctx context.Context) error {
	if c, ok := p.c.(driver.Pinger); ok {
		return c.Ping(ctx)
	}
	return nil
}

func (p passConn) ResetSession(ctx context.Context) error {
	if c, ok := p.c.(driver.SessionResetter); ok {
		return c.ResetSession(ctx)
	}
	return nil
}

func (p passConn) IsValid() bool {
	if c, ok := p.c.(driver.Validator); ok {
		return c.IsValid()
	}
	return true
}

func (p passConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := p.c.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
