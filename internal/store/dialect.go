package store

import "strings"

// dialect is the seam between database engines. Everything else in this
// package is SQL that SQLite and PostgreSQL both accept; what they do not
// share goes here, one method each, with the reason.
type dialect interface {
	// name is the engine's name, for messages.
	name() string
	// isUniqueViolation reports whether err is a unique-constraint failure:
	// the engines report it with different codes and texts.
	isUniqueViolation(err error) bool
	// lockSkip is appended to the SELECT that picks a task to hand out.
	// PostgreSQL needs FOR UPDATE SKIP LOCKED so concurrent hub processes
	// don't pick the same row; SQLite serialises writers and has no such
	// clause.
	lockSkip() string
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (sqliteDialect) lockSkip() string { return "" }
