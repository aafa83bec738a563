package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// A village center's reviewers check their fellow workers' saved answers
// there; each check is a review of one answer, born at the center and sent
// up to the hub.

// ReviewRecord is a reviewer's check of one answer, with the answer they
// would have given, if any. A village center sends it up as a
// wire.Review, so that the hub keeps it too.
type ReviewRecord struct {
	AssignmentID string
	ReviewerID   string
	Verdict      string
	Answer       *work.Answer
	Note         string
}

// RecordReview stores a reviewer's check of an answer and returns its id;
// store.ErrConflict if the reviewer has reviewed that answer already. At a
// village center it goes up too.
func RecordReview(ctx context.Context, st *store.Store, r ReviewRecord) (string, error) {
	up := wire.Review{AssignmentID: r.AssignmentID, ReviewerID: r.ReviewerID, Verdict: r.Verdict, Note: r.Note}
	if r.Answer != nil {
		raw, err := json.Marshal(r.Answer)
		if err != nil {
			return "", fmt.Errorf("review: record review: %w", err)
		}
		up.Answer = raw
	}
	id, err := st.Born(ctx, wire.KindReview, up, func(tx *store.Tx, id string, now time.Time) error {
		return insertReview(ctx, tx, id, r, now)
	})
	if err != nil {
		return "", fmt.Errorf("review: record review: %w", err)
	}
	return id, nil
}

// ReceiveReview stores, at the hub, a center reviewer's check of one of
// the center's answers, under id, inside the upload's transaction tx, and
// moves the skill of the worker who gave the answer by it
// (dispatch.Service.ScoreReviewed) — nothing else: an answer the reviewer
// picked is no random sample, so the task's result, its pay and the
// batch's measured accuracy stand. The answer must have arrived first (it
// is earlier in the center's outbox); until then the review waits.
func ReceiveReview(ctx context.Context, d *dispatch.Service, tx *store.Tx, centerID, id string, r ReviewRecord) (wire.Verdict, error) {
	if v, ok, err := auth.CenterWorker(ctx, tx, centerID, r.ReviewerID); !ok || err != nil {
		return v, err
	}
	var org string
	err := tx.QueryRowContext(ctx, `SELECT u.org_id FROM assignments a JOIN users u ON u.id = a.worker_id WHERE a.id = ?`,
		r.AssignmentID).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.Verdict{Status: wire.StatusRetry, Reason: fmt.Sprintf("answer %s has not arrived yet", r.AssignmentID)}, nil
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	if org != centerID {
		return wire.Verdict{Status: wire.StatusRejected, Reason: "a center reviews its own workers' answers only"}, nil
	}
	err = insertReview(ctx, tx, id, r, d.Store.Now())
	if errors.Is(err, store.ErrConflict) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: err.Error()}, nil
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	return wire.Verdict{Status: wire.StatusAccepted}, d.ScoreReviewed(ctx, tx, r.AssignmentID, r.Verdict, r.Answer)
}

// AnswerReviews lists the reviews of one answer, oldest first.
func AnswerReviews(ctx context.Context, st *store.Store, assignmentID string) ([]ReviewRecord, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT assignment_id, reviewer_id, verdict, answer, note FROM answer_reviews
		WHERE assignment_id = ? ORDER BY created_at, id`, assignmentID)
	if err != nil {
		return nil, fmt.Errorf("review: reviews of %s: %w", assignmentID, err)
	}
	return store.Collect(rows, func(r store.Scanner) (ReviewRecord, error) {
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

// insertReview writes one review with the given id; store.ErrConflict if
// the reviewer has reviewed the answer already.
func insertReview(ctx context.Context, tx *store.Tx, id string, r ReviewRecord, now time.Time) error {
	var answer sql.NullString
	if r.Answer != nil {
		raw, err := json.Marshal(r.Answer)
		if err != nil {
			return err
		}
		answer = sql.NullString{String: string(raw), Valid: true}
	}
	err := tx.Savepoint(ctx, func() error {
		_, err := tx.ExecContext(ctx, `INSERT INTO answer_reviews (id, assignment_id, reviewer_id, verdict, answer, note, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, r.AssignmentID, r.ReviewerID, r.Verdict, answer, r.Note, store.TimeText(now))
		return err
	})
	if tx.IsUniqueViolation(err) {
		return problem.Public(store.ErrConflict, "the reviewer has reviewed this answer already")
	}
	return err
}
