// Package store owns Banyan's persistence: the schema and its numbered
// migrations, opening either engine, and the transactions that change
// state, which domain packages run their own statements on (Tx, Write,
// Read in tx.go). A village center's store appends to the center's outbox
// through a hook its composition root sets (Options.Outbox). One schema
// and one set of queries serve every engine; what differs between engines
// lives in dialect.go.
//
// SQLite is the default. It is opened the way an embedded database should
// be: busy_timeout first, WAL, synchronous=FULL (an answer a worker was told
// is saved survives a power cut), one writer connection that starts every
// transaction with BEGIN IMMEDIATE, and a separate pool of read-only
// connections.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"banyan/internal/problem"
)

// Sentinel errors, matched with errors.Is. A caller is told a conflict's
// particulars through problem.Public where it arises; the sentinel's own
// message is what is said otherwise.
var (
	ErrNotFound = problem.NewSentinel(problem.NotFound, "not found")
	ErrConflict = problem.NewSentinel(problem.Conflict, "the record's state does not allow this now")
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is Banyan's database. It is safe for concurrent use.
type Store struct {
	w *sql.DB // the one writer
	// g groups a SQLite store's write transactions into shared commits;
	// nil on PostgreSQL, whose server does its own group commit.
	g  *groupCommit
	r  *sql.DB // readers
	d  dialect
	tm func() time.Time
	// outbox appends to a center's outbox (Options.Outbox); nil on a hub.
	outbox func(ctx context.Context, tx *Tx, now time.Time, id, kind string, body any) error
	// notifier is told of the events clients subscribe to (SetNotifier).
	notifier Notifier
}

// Options tune how a store is opened.
type Options struct {
	// Migrate applies pending migrations on open. Without it, Open fails
	// when migrations are pending.
	Migrate bool
	// AllowPending opens a database with pending migrations without
	// applying them, for 'banyan migrate status'.
	AllowPending bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxConns caps the connections to PostgreSQL; 0 means
	// DefaultPostgresConns. SQLite has one writer and a few readers.
	MaxConns int
	// Outbox is center mode: it appends a record to the center's outbox
	// (uplink.AppendOutbox), and every record born here (activity,
	// declarations, reviews, audit events, training answers) is written
	// with it in the same transaction, to go up to the hub. nil on a hub.
	Outbox func(ctx context.Context, tx *Tx, now time.Time, id, kind string, body any) error
	// Key, when given, encrypts a SQLite database at rest: every page,
	// the WAL and temporary files (Adiantum, a cipher made for disk
	// encryption). It is KeySize bytes, kept off the disk the database is
	// on. A database made with a key opens only with that key; one made
	// without opens only without.
	Key []byte
}

// KeySize is the length of a database key, in bytes.
const KeySize = 32

// DefaultPostgresConns is a hub's connection cap on PostgreSQL.
const DefaultPostgresConns = 32

// Open opens the database named by dsn: a file path (SQLite), a URL
// beginning sqlite:, or a postgres:// URL.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if IsPostgres(dsn) {
		if opt.Key != nil {
			return nil, fmt.Errorf("store: a database key is for SQLite; encrypt a PostgreSQL database with the server's own means")
		}
		return openPostgres(ctx, dsn, opt)
	}
	if opt.Key != nil && len(opt.Key) != KeySize {
		return nil, fmt.Errorf("store: a database key is %d bytes (%d hex digits), not %d", KeySize, 2*KeySize, len(opt.Key))
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		return nil, fmt.Errorf("store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: database path %q: %w", path, err)
	}
	// busy_timeout must come first so the pragmas after it wait rather than
	// fail while another process holds the file.
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"}
	q := url.Values{}
	if opt.Key != nil {
		// The key goes in the connection string, which lives in this
		// process's memory only; temporary tables stay in memory too.
		q.Set("vfs", "adiantum")
		q.Set("hexkey", hex.EncodeToString(opt.Key))
		pragmas = append(pragmas, "temp_store(memory)")
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// The one writer gets a 32 MiB page cache, so a big batch's insert
	// does not spill pages to the WAL before it commits.
	wq := url.Values{}
	for k, v := range q {
		wq[k] = append([]string(nil), v...)
	}
	wq.Add("_pragma", "cache_size(-32768)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open(sqliteDriverName, "file:"+abs+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)

	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open(sqliteDriverName, "file:"+abs+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", abs, err)
	}
	readers := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	s := &Store{w: w, r: r, g: newGroupCommit(w), d: sqliteDialect{}, tm: opt.Now, outbox: opt.Outbox}
	if err := s.start(ctx, opt); err != nil {
		if strings.Contains(err.Error(), "file is not a database") {
			if opt.Key != nil {
				return nil, fmt.Errorf("store: open %s: it does not open with this key: the key is wrong, or the database was made without one", abs)
			}
			return nil, fmt.Errorf("store: open %s: not a SQLite database; if it was made encrypted, give its key", abs)
		}
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	return s, nil
}

// openPostgres opens a PostgreSQL database: one pool serves writes and
// reads, as the server takes concurrent writers.
func openPostgres(ctx context.Context, dsn string, opt Options) (*Store, error) {
	db, err := sql.Open(pgDriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	conns := opt.MaxConns
	if conns <= 0 {
		conns = DefaultPostgresConns
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{w: db, r: db, d: pgDialect{}, tm: opt.Now, outbox: opt.Outbox}
	if err := s.start(ctx, opt); err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL at %s: %w", RedactDSN(dsn), err)
	}
	return s, nil
}

// start checks the connection and applies or refuses pending migrations.
// On an error the store is closed.
func (s *Store) start(ctx context.Context, opt Options) error {
	if s.tm == nil {
		s.tm = time.Now
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return err
	}
	pending, err := s.PendingMigrations(ctx)
	if err != nil {
		s.Close()
		return err
	}
	if len(pending) > 0 && !opt.AllowPending {
		if !opt.Migrate {
			s.Close()
			return fmt.Errorf("%d migration(s) pending (first: %s); run 'banyan migrate up' or start without --no-migrate", len(pending), pending[0].Name)
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return err
		}
	}
	return nil
}

// RunAlone runs a background job (a re-fit, a recall sweep) unless
// another hub process on the same database is running it now: with
// several hubs on one PostgreSQL, each job runs once at a time across
// them. ran says whether this call ran it.
func (s *Store) RunAlone(ctx context.Context, job string, fn func(context.Context) error) (ran bool, err error) {
	return s.d.runAlone(ctx, s.w, job, fn)
}

// RedactDSN hides the password in a database URL, for messages.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Close closes the connection pools.
func (s *Store) Close() error {
	if s.g != nil {
		s.g.close()
	}
	if s.w == s.r {
		return s.w.Close()
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

// now returns the store's clock reading in UTC, at microsecond precision,
// which is what the fixed-width time text keeps.
func (s *Store) now() time.Time { return s.tm().UTC().Truncate(time.Microsecond) }

// Now is the store's clock (a center's may be days off the hub's).
func (s *Store) Now() time.Time { return s.now() }

// CenterMode says whether this is a village center's store
// (Options.Outbox): records born here go up to the hub through the outbox,
// and a worker's task time is the center's own work, not assignments.
func (s *Store) CenterMode() bool { return s.outbox != nil }

const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts formats a time for storage. Stored times sort as text.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func parseNullTS(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTS(s.String)
	return &t
}

// txKey marks a context that carries an open write transaction (InOneTx).
type txKey struct{}

// tx runs fn in one write transaction and commits it, or rolls it back when
// fn fails. Inside InOneTx it joins the transaction already open.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(tx)
	}
	if s.g != nil {
		return s.g.run(ctx, fn)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// reader is what a read should use: the open transaction inside
// InOneTx, so a read sees what the same transaction wrote, or else the
// reader pool.
func (s *Store) reader(ctx context.Context) Reader {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return s.r
}

// InOneTx runs fn with a context in which every write the store makes
// joins one transaction, committed when fn returns nil: many small writes
// then cost one fsync. Reads on the reader pool do not see the
// transaction's writes until it commits, and methods that write outside
// s.tx (a few single-statement updates) must not be called inside it.
func (s *Store) InOneTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(context.WithValue(ctx, txKey{}, tx)) })
}

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

func migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration file %s is not named NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (s *Store) ensureMigrationTable(ctx context.Context) error {
	// Hubs starting together on one PostgreSQL database would race to
	// create the table; they take turns.
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.d.serialize(ctx, tx, "migrate"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return nil
}

// PendingMigrations lists the migrations not yet applied, oldest first.
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	if err := s.ensureMigrationTable(ctx); err != nil {
		return nil, err
	}
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	rows, err := s.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var pending []Migration
	for _, m := range all {
		if !applied[m.Version] {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

// Migrate applies every pending migration, each in its own transaction.
func (s *Store) Migrate(ctx context.Context) error {
	pending, err := s.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	for _, m := range pending {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// Hubs starting together on one database: one applies each
			// migration, the others find it applied.
			if err := s.d.serialize(ctx, tx, "migrate"); err != nil {
				return err
			}
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, s.d.migrationSQL(m.SQL)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, ts(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// EncryptCopy writes an encrypted copy of the plain SQLite database at src
// to dst (which must not exist), keyed with key, and syncs it to disk. The
// copy is a consistent snapshot of src, its WAL included; stop whatever
// writes src first.
func EncryptCopy(ctx context.Context, src, dst string, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("store: a database key is %d bytes, not %d", KeySize, len(key))
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("store: %s exists already", dst)
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	absDst, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open(sqliteDriverName, "file:"+absSrc+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: open %s: %w", absSrc, err)
	}
	defer db.Close()
	q := url.Values{"vfs": {"adiantum"}, "hexkey": {hex.EncodeToString(key)}}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, "file:"+absDst+"?"+q.Encode()); err != nil {
		if strings.Contains(err.Error(), "file is not a database") {
			return fmt.Errorf("store: %s is not a plain SQLite database (encrypted already?)", absSrc)
		}
		return fmt.Errorf("store: encrypt %s: %w", absSrc, err)
	}
	f, err := os.OpenFile(absDst, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", absDst, err)
	}
	return nil
}
