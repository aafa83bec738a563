package training

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"banyan/internal/auth"
	"banyan/internal/feed"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Answers to course items given at a village center: scored there against
// what the center holds, and sent up to the hub, which scores them again
// against every answer (a qualification's stay on the hub) and sends the
// verdict back down the feed.

// CenterAnswerItem is AnswerItem at a center: the answer is scored
// against what the center holds (training items carry their answers;
// qualification items do not, and are scored on the hub) and goes up
// with its outbox row, in one transaction.
func CenterAnswerItem(ctx context.Context, st *store.Store, attemptID, workerID, itemID string, answer work.Answer) (ItemOutcome, error) {
	var out ItemOutcome
	err := st.Write(ctx, func(tx *store.Tx) (err error) {
		if out, err = answerItem(ctx, st, tx, attemptID, workerID, itemID, answer); err != nil {
			return err
		}
		if out.Attempt.State != work.AttemptOpen {
			if err := closeSession(ctx, tx, workerID, out.Attempt.CourseID, st.Now()); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(answer)
		if err != nil {
			return err
		}
		return st.AppendOutbox(ctx, tx, work.NewID(), wire.KindAttemptAnswer, wire.AttemptAnswer{
			AttemptID: attemptID, CourseID: out.Attempt.CourseID, WorkerID: workerID, ItemID: itemID, Answer: raw})
	})
	if err != nil {
		return ItemOutcome{}, fmt.Errorf("training: answer item: %w", err)
	}
	return out, nil
}

// ReceiveAttemptAnswer scores, on the hub, a worker's answer to a course
// item given at a center (answer is r's, read against the course), inside
// the upload's transaction tx; the attempt is made on the hub, under the
// center's id for it, with its first answer. When a qualification
// finishes, its verdict goes back to the center on its feed (and the skill
// with it, when passed).
func ReceiveAttemptAnswer(ctx context.Context, st *store.Store, tx *store.Tx, centerID string, r wire.AttemptAnswer, answer work.Answer) (wire.Verdict, error) {
	if v, ok, err := auth.CenterWorker(ctx, tx, centerID, r.WorkerID); !ok || err != nil {
		return v, err
	}
	var items int
	err := tx.QueryRowContext(ctx, `SELECT items FROM courses WHERE id = ?`, r.CourseID).Scan(&items)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf("course %s is not on this hub", r.CourseID)}, nil
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	var owner, course string
	err = tx.QueryRowContext(ctx, `SELECT worker_id, course_id FROM attempts WHERE id = ?`, r.AttemptID).Scan(&owner, &course)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO attempts (id, course_id, worker_id, state, created_at) VALUES (?, ?, ?, 'open', ?)`,
			r.AttemptID, r.CourseID, r.WorkerID, store.TimeText(st.Now()))
		owner, course = r.WorkerID, r.CourseID
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	if owner != r.WorkerID || course != r.CourseID {
		return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf("attempt %s is another worker's or another course's", r.AttemptID)}, nil
	}
	out, err := answerItem(ctx, st, tx, r.AttemptID, r.WorkerID, r.ItemID, answer)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: err.Error()}, nil
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	if out.Attempt.State == work.AttemptPassed || out.Attempt.State == work.AttemptFailed {
		if err := feed.Append(ctx, tx, centerID, "attempt", out.Attempt, store.TimeText(st.Now())); err != nil {
			return wire.Verdict{}, err
		}
	}
	return wire.Verdict{Status: wire.StatusAccepted}, nil
}
