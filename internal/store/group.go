package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// errClosed is what a write gets once the store is closed.
var errClosed = errors.New("store: closed")

// groupCommit runs the write transactions of a SQLite store on its one
// writer connection, several to a commit. Writers queue their work; one
// goroutine takes everything queued, runs each piece inside its own
// savepoint of a single transaction and commits once. A piece that fails
// is rolled back to its savepoint and only its caller sees the error; the
// others share the one fsync. Nobody waits for a batch to fill: a batch is
// whatever queued while the previous one ran, so a lone writer commits at
// once and a busy store commits many answers per fsync.
type groupCommit struct {
	db   *sql.DB
	ops  chan *groupOp
	quit chan struct{}
	done chan struct{}
	// mu keeps a write from being queued after the loop has stopped:
	// writers queue under the read lock, close takes the write lock.
	mu     sync.RWMutex
	closed bool
}

type groupOp struct {
	ctx context.Context
	fn  func(*sql.Tx) error
	err chan error
}

// maxGroup bounds one commit, so a caller at the back of a long queue
// does not wait for everyone ahead of it.
const maxGroup = 256

func newGroupCommit(db *sql.DB) *groupCommit {
	g := &groupCommit{db: db, ops: make(chan *groupOp, maxGroup), quit: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g
}

// run queues fn and waits until its transaction has committed or failed.
func (g *groupCommit) run(ctx context.Context, fn func(*sql.Tx) error) error {
	op := &groupOp{ctx: ctx, fn: fn, err: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	select {
	case g.ops <- op:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the caller waits for the outcome even if its context
	// ends, so it never reports a failure for a write that then commits.
	return <-op.err
}

// close stops the loop after the batch in hand; writes queued behind it
// get errClosed.
func (g *groupCommit) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.quit)
	}
	g.mu.Unlock()
	<-g.done
}

func (g *groupCommit) loop() {
	defer close(g.done)
	batch := make([]*groupOp, 0, maxGroup)
	for {
		select {
		case <-g.quit:
			g.drain(errClosed)
			return
		case op := <-g.ops:
			batch = append(batch[:0], op)
		}
	more:
		for len(batch) < maxGroup {
			select {
			case op := <-g.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		g.commit(batch)
	}
}

func (g *groupCommit) drain(err error) {
	for {
		select {
		case op := <-g.ops:
			op.err <- err
		default:
			return
		}
	}
}

// commit runs one batch in one transaction. A piece whose caller gave up
// before it started is skipped; once started, a piece's statements are not
// interrupted (the writer connection ignores cancellation, see
// sqlite_driver.go), since SQLite would roll back the whole transaction
// and the other pieces' writes with it.
func (g *groupCommit) commit(batch []*groupOp) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, op := range batch {
			op.err <- err
		}
	}
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	alone := len(batch) == 1
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if alone {
			results[i] = op.fn(tx)
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT grp`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		results[i] = op.fn(tx)
		undo := `RELEASE grp`
		if results[i] != nil {
			undo = `ROLLBACK TO grp; RELEASE grp`
		}
		if _, err := tx.Exec(undo); err != nil {
			// The transaction itself is gone (SQLite rolls back on some
			// errors, such as a full disk): nothing in it was kept.
			tx.Rollback()
			fail(errors.Join(results[i], fmt.Errorf("roll back to savepoint: %w", err)))
			return
		}
	}
	if alone && results[0] != nil {
		tx.Rollback()
		batch[0].err <- results[0]
		return
	}
	if err := tx.Commit(); err != nil {
		for i, op := range batch {
			op.err <- errors.Join(results[i], fmt.Errorf("commit: %w", err))
		}
		return
	}
	for i, op := range batch {
		op.err <- results[i]
	}
}
