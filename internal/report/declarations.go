package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// A worker's self-declarations are what the impact report counts of who
// the workers are. Declaring is voluntary, and so is staying declared: a
// worker who withdraws their consent has every declaration they made
// erased, wherever it is.

// DeclarationRecord is a worker's self-declaration. A village center sends
// it up as a wire.Declaration, so that the hub counts it too.
type DeclarationRecord struct {
	WorkerID   string
	DeclaredAt time.Time
	work.Declaration
}

// RecordDeclaration stores a worker's self-declaration, made now, and
// returns its id; the latest counts. At a village center it goes up too.
func RecordDeclaration(ctx context.Context, st *store.Store, r DeclarationRecord) (string, error) {
	r.DeclaredAt = st.Now()
	id, err := st.Born(ctx, wire.KindDeclaration, wire.Declaration(r), func(tx *store.Tx, id string, now time.Time) error {
		return insertDeclaration(ctx, tx, id, r, now)
	})
	if err != nil {
		return "", fmt.Errorf("report: record declaration: %w", err)
	}
	return id, nil
}

// LatestDeclaration returns a worker's latest self-declaration, and when
// it was made; store.ErrNotFound if they have made none.
func LatestDeclaration(ctx context.Context, st *store.Store, workerID string) (work.Declaration, time.Time, error) {
	var d work.Declaration
	var body, at string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT body, declared_at FROM declarations WHERE worker_id = ?
		ORDER BY declared_at DESC, id DESC LIMIT 1`, workerID).Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return d, time.Time{}, fmt.Errorf("report: declaration of %s: %w", workerID, store.ErrNotFound)
	}
	if err != nil {
		return d, time.Time{}, fmt.Errorf("report: declaration of %s: %w", workerID, err)
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return d, time.Time{}, fmt.Errorf("report: declaration of %s: %w", workerID, err)
	}
	return d, store.ParseTimeText(at), nil
}

// ReceiveDeclaration stores, at the hub, a self-declaration made at a
// center by one of its workers, under id, inside the upload's transaction
// tx.
func ReceiveDeclaration(ctx context.Context, st *store.Store, tx *store.Tx, centerID, id string, r wire.Declaration) (wire.Verdict, error) {
	if v, ok, err := auth.CenterWorker(ctx, tx, centerID, r.WorkerID); !ok || err != nil {
		return v, err
	}
	return wire.Verdict{Status: wire.StatusAccepted}, insertDeclaration(ctx, tx, id, DeclarationRecord(r), st.Now())
}

// insertDeclaration writes one declaration with the given id.
func insertDeclaration(ctx context.Context, tx *store.Tx, id string, r DeclarationRecord, now time.Time) error {
	body, err := json.Marshal(r.Declaration)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO declarations (id, worker_id, body, declared_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, r.WorkerID, string(body), store.TimeText(r.DeclaredAt), store.TimeText(now))
	return err
}

// WithdrawDeclarations erases everything a worker declared about
// themselves (their consent withdrawn) and returns how many declarations
// went. At a village center the declarations' copies in the outbox go
// too (blanked once sent, dropped before), and the withdrawal itself goes
// up so the hub erases its copies.
func WithdrawDeclarations(ctx context.Context, st *store.Store, workerID string) (int64, error) {
	var n int64
	_, err := st.Born(ctx, wire.KindWithdrawal, wire.Withdrawal{WorkerID: workerID}, func(tx *store.Tx, id string, now time.Time) error {
		var err error
		n, err = eraseDeclarations(ctx, tx, workerID, st.HasOutbox())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("report: withdraw declarations: %w", err)
	}
	return n, nil
}

// ReceiveWithdrawal erases, at the hub, the declarations of a center's
// worker who withdrew consent there, inside the upload's transaction tx.
func ReceiveWithdrawal(ctx context.Context, tx *store.Tx, centerID string, r wire.Withdrawal) (wire.Verdict, error) {
	if v, ok, err := auth.CenterWorker(ctx, tx, centerID, r.WorkerID); !ok || err != nil {
		return v, err
	}
	_, err := eraseDeclarations(ctx, tx, r.WorkerID, false)
	return wire.Verdict{Status: wire.StatusAccepted}, err
}

// eraseDeclarations deletes a worker's declarations and, when the store
// keeps an outbox (a village center's), their copies in it: dropped while
// unsent, blanked once sent.
func eraseDeclarations(ctx context.Context, tx *store.Tx, workerID string, outbox bool) (int64, error) {
	if outbox {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = 'declaration' AND acked_at IS NULL
			AND id IN (SELECT id FROM declarations WHERE worker_id = ?)`, workerID); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET body = '{}' WHERE kind = 'declaration'
			AND id IN (SELECT id FROM declarations WHERE worker_id = ?)`, workerID); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM declarations WHERE worker_id = ?`, workerID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
