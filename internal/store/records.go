package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// This file keeps the records born where workers are, besides answers:
// self-declarations and reviews of answers, and the means the domains'
// records (audit events, training's spans and course answers) are born
// and received with. At a center (Options.Outbox) each is written with its
// outbox row in one transaction; on the hub the Uplink* functions store
// what centers send, once per id.

// Outbox record kinds, as they travel up.
const (
	KindDeclaration = "declaration"
	KindReview      = "review"
)

// DeclarationRecord is a worker's self-declaration.
type DeclarationRecord struct {
	WorkerID   string    `json:"worker_id"`
	DeclaredAt time.Time `json:"declared_at"`
	work.Declaration
}

// ReviewRecord is a reviewer's check of one answer.
type ReviewRecord struct {
	AssignmentID string       `json:"assignment_id"`
	ReviewerID   string       `json:"reviewer_id"`
	Verdict      string       `json:"verdict"`
	Answer       *work.Answer `json:"answer,omitempty"`
	Note         string       `json:"note"`
}

// born writes a record with insert and, in center mode, its outbox row,
// in one transaction.
func (s *Store) born(ctx context.Context, kind string, body any, insert func(tx *sql.Tx, id, now string) error) (string, error) {
	id := work.NewID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := insert(tx, id, ts(s.now())); err != nil {
			return err
		}
		if s.outbox {
			return s.appendOutbox(ctx, tx, id, kind, body)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: record %s: %w", kind, err)
	}
	return id, nil
}

func insertDeclaration(ctx context.Context, tx *sql.Tx, id string, r DeclarationRecord, now string) error {
	body, err := json.Marshal(r.Declaration)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO declarations (id, worker_id, body, declared_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, r.WorkerID, string(body), ts(r.DeclaredAt), now)
	return err
}

func (s *Store) insertReview(ctx context.Context, tx *sql.Tx, id string, r ReviewRecord, now string) error {
	var answer sql.NullString
	if r.Answer != nil {
		raw, err := json.Marshal(r.Answer)
		if err != nil {
			return err
		}
		answer = sql.NullString{String: string(raw), Valid: true}
	}
	err := s.d.savepoint(ctx, tx, func() error {
		_, err := tx.ExecContext(ctx, `INSERT INTO answer_reviews (id, assignment_id, reviewer_id, verdict, answer, note, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, r.AssignmentID, r.ReviewerID, r.Verdict, answer, r.Note, now)
		return err
	})
	if s.d.isUniqueViolation(err) {
		return problem.Public(ErrConflict, "the reviewer has reviewed this answer already")
	}
	return err
}

// RecordDeclaration stores a worker's self-declaration; the latest counts.
func (s *Store) RecordDeclaration(ctx context.Context, r DeclarationRecord) (string, error) {
	r.DeclaredAt = s.now()
	return s.born(ctx, KindDeclaration, r, func(tx *sql.Tx, id, now string) error { return insertDeclaration(ctx, tx, id, r, now) })
}

// RecordReview stores a reviewer's check of an answer.
func (s *Store) RecordReview(ctx context.Context, r ReviewRecord) (string, error) {
	return s.born(ctx, KindReview, r, func(tx *sql.Tx, id, now string) error { return s.insertReview(ctx, tx, id, r, now) })
}

// LatestDeclaration returns a worker's latest self-declaration, and when it
// was made; ErrNotFound if they have made none.
func (s *Store) LatestDeclaration(ctx context.Context, workerID string) (work.Declaration, time.Time, error) {
	var d work.Declaration
	var body, at string
	err := s.r.QueryRowContext(ctx, `SELECT body, declared_at FROM declarations WHERE worker_id = ?
		ORDER BY declared_at DESC, id DESC LIMIT 1`, workerID).Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return d, time.Time{}, fmt.Errorf("store: declaration of %s: %w", workerID, ErrNotFound)
	}
	if err != nil {
		return d, time.Time{}, fmt.Errorf("store: declaration of %s: %w", workerID, err)
	}
	return d, parseTS(at), json.Unmarshal([]byte(body), &d)
}

// Born writes a record born here with insert and, in center mode, its
// outbox row with body, in one transaction, and returns the record's id,
// made here once.
func (s *Store) Born(ctx context.Context, kind string, body any, insert func(tx *Tx, id string, now time.Time) error) (string, error) {
	return s.born(ctx, kind, body, func(tx *sql.Tx, id, now string) error {
		return insert(&Tx{tx: tx, d: s.d}, id, parseTS(now))
	})
}

// UplinkOnce stores one item a center uploaded exactly once: a replay is
// answered "duplicate"; otherwise store runs in a savepoint of the upload's
// transaction and its verdict is recorded (unless it is "retry": nothing
// stored, not final).
func (s *Store) UplinkOnce(ctx context.Context, it UplinkItem, store func(tx *Tx) (UplinkResult, error)) (UplinkResult, error) {
	return s.uplinkOnce(ctx, it, func(tx *sql.Tx) (UplinkResult, error) { return store(&Tx{tx: tx, d: s.d}) })
}

// uplinkOnce stores one uploaded item exactly once: a replay is answered
// "duplicate"; otherwise store runs and its verdict is recorded, unless it
// is "retry" (nothing stored, not final).
func (s *Store) uplinkOnce(ctx context.Context, it UplinkItem, store func(tx *sql.Tx) (UplinkResult, error)) (UplinkResult, error) {
	var res UplinkResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if st, seen, err := uplinkSeen(ctx, tx, it.ID); err != nil || seen {
			res = UplinkResult{Status: UplinkDuplicate, Reason: "first answered " + st}
			return err
		}
		err := s.d.savepoint(ctx, tx, func() error {
			var err error
			if res, err = store(tx); err != nil || res.Status == UplinkRetry {
				return err
			}
			return s.recordItem(ctx, tx, it, res.Status, res.Reason)
		})
		if s.d.isUniqueViolation(err) {
			// Another hub process on the same database stored this item
			// at the same moment (the center retried elsewhere).
			if st, seen, serr := uplinkSeen(ctx, tx, it.ID); serr == nil && seen {
				res = UplinkResult{Status: UplinkDuplicate, Reason: "first answered " + st}
				return nil
			}
		}
		return err
	})
	if err != nil {
		return UplinkResult{}, fmt.Errorf("store: %s %s from center %s: %w", it.Kind, it.ID, it.CenterID, err)
	}
	return res, nil
}

// centerWorker checks that a worker named in an upload belongs to the
// center. ok is false with the verdict to give when not: retry while the
// enrolment may still be on its way, rejected for another organisation's.
func centerWorker(ctx context.Context, tx *sql.Tx, centerID, workerID string) (UplinkResult, bool, error) {
	var org string
	err := tx.QueryRowContext(ctx, `SELECT org_id FROM users WHERE id = ?`, workerID).Scan(&org)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return UplinkResult{Status: UplinkRetry, Reason: fmt.Sprintf("user %s is not enrolled yet; send the enrolment, then this again", workerID)}, false, nil
	case err != nil:
		return UplinkResult{}, false, err
	case org != centerID:
		return UplinkResult{Status: UplinkRejected, Reason: fmt.Sprintf("user %s belongs to another organisation", workerID)}, false, nil
	}
	return UplinkResult{}, true, nil
}

// CenterWorker checks, inside an upload's transaction, that a worker named
// in the upload belongs to the center. ok is false with the verdict to give
// when not: retry while the enrolment may still be on its way, rejected
// for another organisation's.
func CenterWorker(ctx context.Context, tx *Tx, centerID, workerID string) (UplinkResult, bool, error) {
	return centerWorker(ctx, tx.tx, centerID, workerID)
}

var accepted = UplinkResult{Status: UplinkAccepted}

// UplinkDeclaration stores a self-declaration made at a center.
func (s *Store) UplinkDeclaration(ctx context.Context, it UplinkItem, r DeclarationRecord) (UplinkResult, error) {
	return s.uplinkOnce(ctx, it, func(tx *sql.Tx) (UplinkResult, error) {
		if res, ok, err := centerWorker(ctx, tx, it.CenterID, r.WorkerID); !ok || err != nil {
			return res, err
		}
		return accepted, insertDeclaration(ctx, tx, it.ID, r, ts(s.now()))
	})
}

// UplinkReview stores a center reviewer's check of one of the center's
// answers. The answer must have arrived first (it is earlier in the
// center's outbox); until then the review waits.
func (s *Store) UplinkReview(ctx context.Context, it UplinkItem, r ReviewRecord) (UplinkResult, error) {
	return s.uplinkOnce(ctx, it, func(tx *sql.Tx) (UplinkResult, error) {
		if res, ok, err := centerWorker(ctx, tx, it.CenterID, r.ReviewerID); !ok || err != nil {
			return res, err
		}
		var org string
		err := tx.QueryRowContext(ctx, `SELECT u.org_id FROM assignments a JOIN users u ON u.id = a.worker_id WHERE a.id = ?`,
			r.AssignmentID).Scan(&org)
		if errors.Is(err, sql.ErrNoRows) {
			return UplinkResult{Status: UplinkRetry, Reason: fmt.Sprintf("answer %s has not arrived yet", r.AssignmentID)}, nil
		}
		if err != nil {
			return UplinkResult{}, err
		}
		if org != it.CenterID {
			return UplinkResult{Status: UplinkRejected, Reason: "a center reviews its own workers' answers only"}, nil
		}
		err = s.insertReview(ctx, tx, it.ID, r, ts(s.now()))
		if errors.Is(err, ErrConflict) {
			return UplinkResult{Status: UplinkRejected, Reason: err.Error()}, nil
		}
		return accepted, err
	})
}

// AnswerReviews lists the reviews of one answer, oldest first.
func (s *Store) AnswerReviews(ctx context.Context, assignmentID string) ([]ReviewRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT assignment_id, reviewer_id, verdict, answer, note FROM answer_reviews
		WHERE assignment_id = ? ORDER BY created_at, id`, assignmentID)
	if err != nil {
		return nil, fmt.Errorf("store: reviews of %s: %w", assignmentID, err)
	}
	return collect(rows, func(r scanner) (ReviewRecord, error) {
		var rv ReviewRecord
		var answer sql.NullString
		if err := r.Scan(&rv.AssignmentID, &rv.ReviewerID, &rv.Verdict, &answer, &rv.Note); err != nil {
			return rv, err
		}
		if answer.Valid {
			rv.Answer = &work.Answer{}
			return rv, json.Unmarshal([]byte(answer.String), rv.Answer)
		}
		return rv, nil
	})
}
