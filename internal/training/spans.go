package training

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// This file keeps a worker's declared time — today, training — and the
// course sessions it must lie in. A span is stored only once
// work.CheckSpan allows it against what this store holds of the worker:
// their other spans, their measured task time (assignments on the hub,
// center_work at a center) and their course sessions. Only stored spans are
// paid or counted.

// ActivityRecord is a span of a worker's declared time. At a village
// center it goes up as a wire.Activity, with the course session it lies
// in.
type ActivityRecord struct {
	WorkerID string
	work.Activity
}

// sessionRow is a course session as this store keeps it.
type sessionRow struct {
	ID, WorkerID, CourseID string
	StartedAt, LastSeenAt  time.Time
	ClosedAt               *time.Time
	creditedTo             time.Time // zero: nothing credited yet
}

// onWire is the session as it travels up in a span it holds.
func (r sessionRow) onWire() *wire.CourseSession {
	return &wire.CourseSession{ID: r.ID, WorkerID: r.WorkerID, CourseID: r.CourseID, StartedAt: r.StartedAt,
		LastSeenAt: r.LastSeenAt, ClosedAt: r.ClosedAt}
}

// end is when the session ends: its close, or SessionIdle after the last
// request seen in it.
func (r sessionRow) end() time.Time {
	if r.ClosedAt != nil {
		return *r.ClosedAt
	}
	return r.LastSeenAt.Add(work.SessionIdle)
}

// lockWorkerTime makes the rest of tx the only one changing the worker's
// time, so two spans checked at once cannot both pass.
func lockWorkerTime(ctx context.Context, tx *store.Tx, workerID string) error {
	return tx.Serialize(ctx, "time:"+workerID)
}

// TouchCourse notes the worker starting an attempt at a course or
// answering one of its items: it goes on with their live session of it, or
// starts one. Only those requests keep a session alive — reading an item
// or an attempt again does not — so a device cannot keep one open by
// polling.
func TouchCourse(ctx context.Context, st *store.Store, workerID, courseID string) error {
	err := st.Write(ctx, func(tx *store.Tx) error {
		if err := lockWorkerTime(ctx, tx, workerID); err != nil {
			return err
		}
		_, err := touchSession(ctx, tx, workerID, courseID, st.Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("training: course session of %s: %w", workerID, err)
	}
	return nil
}

// touchSession goes on with the worker's live session of the course at
// now, or starts one, and returns it as it was before this request (a new
// one starts and was last seen at now).
func touchSession(ctx context.Context, tx *store.Tx, workerID, courseID string, now time.Time) (sessionRow, error) {
	var r sessionRow
	var started, seen string
	var credited sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT id, started_at, last_seen_at, credited_to FROM course_sessions
		WHERE worker_id = ? AND course_id = ? AND closed_at IS NULL ORDER BY last_seen_at DESC, id DESC LIMIT 1`,
		workerID, courseID).Scan(&r.ID, &started, &seen, &credited)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	if err == nil {
		r.WorkerID, r.CourseID, r.StartedAt, r.LastSeenAt = workerID, courseID, store.ParseTimeText(started), store.ParseTimeText(seen)
		if t := store.ParseNullTimeText(credited); t != nil {
			r.creditedTo = *t
		}
		if gap := now.Sub(r.LastSeenAt); gap >= 0 && gap <= work.SessionIdle {
			_, err := tx.ExecContext(ctx, `UPDATE course_sessions SET last_seen_at = ? WHERE id = ?`, store.TimeText(now), r.ID)
			return r, err
		}
	}
	r = sessionRow{ID: work.NewID(), WorkerID: workerID, CourseID: courseID, StartedAt: now, LastSeenAt: now}
	_, err = tx.ExecContext(ctx, `INSERT INTO course_sessions (id, worker_id, course_id, started_at, last_seen_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ID, workerID, courseID, store.TimeText(now), store.TimeText(now), store.TimeText(now))
	return r, err
}

// closeSession ends the worker's live session of a course at now: their
// attempt at it finished.
func closeSession(ctx context.Context, tx *store.Tx, workerID, courseID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE course_sessions SET closed_at = ?, last_seen_at = ?
		WHERE worker_id = ? AND course_id = ? AND closed_at IS NULL AND last_seen_at >= ?`,
		store.TimeText(now), store.TimeText(now), workerID, courseID, store.TimeText(now.Add(-work.SessionIdle)))
	return err
}

// spanFacts gathers what the store holds of a worker around [from, to):
// the intervals their accepted spans and measured task time take, the
// active time already on from's UTC day, and their course sessions near
// the span.
func spanFacts(ctx context.Context, st *store.Store, tx *store.Tx, workerID string, from, to time.Time) (work.SpanFacts, []sessionRow, error) {
	var f work.SpanFacts
	day := from.UTC().Truncate(24 * time.Hour)
	// Task time: the server's measure, from the offer (or, at a center,
	// from its restart after it).
	tasks := `SELECT created_at, coalesce(duration_ms, 0) FROM assignments
		WHERE worker_id = ? AND state = 'submitted' AND created_at >= ? AND created_at < ?`
	if st.CenterMode() {
		tasks = `SELECT coalesce(timed_from, created_at), coalesce(duration_ms, 0) FROM center_work
			WHERE worker_id = ? AND state = 'saved' AND created_at >= ? AND created_at < ?`
	}
	spans := `SELECT started_at, active_ms FROM activity
		WHERE worker_id = ? AND what = 'training' AND started_at >= ? AND started_at < ?`
	type read struct {
		query, what string
		from, to    time.Time
	}
	// An assignment is held a day at most and a span lasts four hours at
	// most: anything that can overlap began that long before the span.
	for _, q := range []read{
		{tasks, "task time", minTime(from.Add(-24*time.Hour), day), maxTime(to, day.Add(24*time.Hour))},
		{spans, "training", minTime(from.Add(-work.MaxActivityMS*time.Millisecond), day), maxTime(to, day.Add(24*time.Hour))},
	} {
		rows, err := tx.QueryContext(ctx, q.query, workerID, store.TimeText(q.from), store.TimeText(q.to))
		if err != nil {
			return f, nil, err
		}
		got, err := store.Collect(rows, func(r store.Scanner) (work.Interval, error) {
			var start string
			var ms int64
			err := r.Scan(&start, &ms)
			t := store.ParseTimeText(start)
			return work.Interval{From: t, To: t.Add(time.Duration(ms) * time.Millisecond), What: q.what}, err
		})
		if err != nil {
			return f, nil, err
		}
		for _, iv := range got {
			if !iv.From.Before(day) && iv.From.Before(day.Add(24*time.Hour)) {
				f.Day += iv.To.Sub(iv.From)
			}
			if iv.To.After(iv.From) {
				f.Busy = append(f.Busy, iv)
			}
		}
	}
	// A task in the worker's hands now is busy time too, from its offer
	// until now (or its limit): a worker does not train with a task open.
	held := `SELECT created_at, expires_at FROM assignments WHERE worker_id = ? AND state = 'active' AND created_at < ?`
	if st.CenterMode() {
		held = `SELECT coalesce(timed_from, created_at), expires_at FROM center_work WHERE worker_id = ? AND state = 'active' AND created_at < ?`
	}
	rows, err := tx.QueryContext(ctx, held, workerID, store.TimeText(to))
	if err != nil {
		return f, nil, err
	}
	now := st.Now()
	active, err := store.Collect(rows, func(r store.Scanner) (work.Interval, error) {
		var from, until string
		err := r.Scan(&from, &until)
		end := store.ParseTimeText(until)
		if end.After(now) {
			end = now
		}
		return work.Interval{From: store.ParseTimeText(from), To: end, What: "task in hand"}, err
	})
	if err != nil {
		return f, nil, err
	}
	for _, iv := range active {
		if iv.To.After(iv.From) {
			f.Busy = append(f.Busy, iv)
		}
	}
	rows, err = tx.QueryContext(ctx, `SELECT id, course_id, started_at, last_seen_at, closed_at FROM course_sessions
		WHERE worker_id = ? AND started_at <= ? AND last_seen_at >= ? ORDER BY started_at`,
		workerID, store.TimeText(to.Add(time.Second)), store.TimeText(from.Add(-work.SessionIdle-time.Second)))
	if err != nil {
		return f, nil, err
	}
	sessions, err := store.Collect(rows, func(r store.Scanner) (sessionRow, error) {
		var x sessionRow
		var started, seen string
		var closed sql.NullString
		err := r.Scan(&x.ID, &x.CourseID, &started, &seen, &closed)
		x.WorkerID, x.StartedAt, x.LastSeenAt, x.ClosedAt = workerID, store.ParseTimeText(started), store.ParseTimeText(seen), store.ParseNullTimeText(closed)
		return x, err
	})
	if err != nil {
		return f, nil, err
	}
	for _, x := range sessions {
		f.Sessions = append(f.Sessions, work.Interval{From: x.StartedAt, To: x.end(), What: "course session"})
	}
	return f, sessions, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// recordSpan checks a worker's span against what the store holds and, if
// it may stand, stores it under id; at a center the session that holds it
// goes into the outbox first, then the span. A refusal is a
// *work.SpanError and writes nothing.
func recordSpan(ctx context.Context, st *store.Store, tx *store.Tx, id string, r ActivityRecord, lim work.SpanLimits) error {
	if err := lockWorkerTime(ctx, tx, r.WorkerID); err != nil {
		return err
	}
	from, to := r.Span()
	facts, sessions, err := spanFacts(ctx, st, tx, r.WorkerID, from, to)
	if err != nil {
		return err
	}
	in, err := work.CheckSpan(r.Activity, st.Now(), lim, facts)
	if err != nil {
		return err
	}
	var sessionID any
	if in >= 0 {
		sessionID = sessions[in].ID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO activity (id, worker_id, started_at, active_ms, what, created_at, session_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, r.WorkerID, store.TimeText(from), r.ActiveMS, r.What, store.TimeText(st.Now()), sessionID); err != nil {
		return err
	}
	if !st.CenterMode() {
		return nil
	}
	// Up it goes with the session it lies in, as it stands now.
	up := wire.Activity{WorkerID: r.WorkerID, Activity: r.Activity}
	if in >= 0 {
		up.Session = sessions[in].onWire()
	}
	up.StartedAt = from.UTC().Format(time.RFC3339Nano)
	return st.AppendOutbox(ctx, tx, id, wire.KindActivity, up)
}

// RecordSpan stores a span of declared time from a worker's own device
// once work.CheckSpan allows it, and pays training time at hourly (minor
// units an hour; 0: not paid here — a center, whose spans are paid when
// they reach the hub). A refusal is a *work.SpanError and stores nothing.
func RecordSpan(ctx context.Context, st *store.Store, r ActivityRecord, lim work.SpanLimits, hourly int64) (string, error) {
	id := work.NewID()
	err := st.Write(ctx, func(tx *store.Tx) error {
		if err := recordSpan(ctx, st, tx, id, r, lim); err != nil {
			return err
		}
		return ledger.PayTraining(ctx, tx, id, r.WorkerID, r.ActiveMS, hourly, store.TimeText(st.Now()))
	})
	var se *work.SpanError
	if errors.As(err, &se) {
		return "", se
	}
	if err != nil {
		return "", fmt.Errorf("training: record span of %s: %w", r.WorkerID, err)
	}
	return id, nil
}

// CreditTraining counts, as training time, the worker's time in their
// session of a course since the server last counted it (or since the
// session began): the server's own desk calls it as the worker answers an
// item, so the time is the server's measure, never the device's. It also
// notes the request in the session. It returns the time credited; a span
// refused by work.CheckSpan (overlapping task time, say) is a
// *work.SpanError, and is not offered again.
func CreditTraining(ctx context.Context, st *store.Store, workerID, courseID string, lim work.SpanLimits, hourly int64) (time.Duration, error) {
	var credited time.Duration
	var refused error
	err := st.Write(ctx, func(tx *store.Tx) error {
		if err := lockWorkerTime(ctx, tx, workerID); err != nil {
			return err
		}
		now := st.Now()
		sess, err := touchSession(ctx, tx, workerID, courseID, now)
		if err != nil || !sess.LastSeenAt.Before(now) {
			return err // a new session: nothing to count yet
		}
		from := maxTime(sess.StartedAt, sess.creditedTo)
		from = maxTime(from, now.Add(-work.MaxActivityMS*time.Millisecond))
		ms := now.Sub(from).Milliseconds()
		if ms < 1 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE course_sessions SET credited_to = ? WHERE id = ?`, store.TimeText(now), sess.ID); err != nil {
			return err
		}
		id := work.NewID()
		r := ActivityRecord{WorkerID: workerID, Activity: work.Activity{StartedAt: from.UTC().Format(time.RFC3339Nano),
			ActiveMS: ms, What: work.ActivityTraining}}
		err = tx.Savepoint(ctx, func() error { return recordSpan(ctx, st, tx, id, r, lim) })
		var se *work.SpanError
		if errors.As(err, &se) {
			refused = se
			return nil
		}
		if err != nil {
			return err
		}
		credited = time.Duration(ms) * time.Millisecond
		return ledger.PayTraining(ctx, tx, id, workerID, ms, hourly, store.TimeText(now))
	})
	if err != nil {
		return 0, fmt.Errorf("training: credit training of %s: %w", workerID, err)
	}
	return credited, refused
}

// receiveSession stores, on the hub, the course session a center's span
// lies in (its times already on the hub's clock), or widens the one stored
// under its id: it comes again with each span in it. reason is why it
// cannot be taken, if it cannot.
func receiveSession(ctx context.Context, st *store.Store, tx *store.Tx, workerID string, r wire.CourseSession, lim work.SpanLimits) (reason string, err error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM courses WHERE id = ?`, r.CourseID).Scan(&n); err != nil {
		return "", err
	}
	switch now := st.Now(); {
	case !work.ValidID(r.ID) || r.WorkerID != workerID:
		return "the span's course session must be the worker's, with a UUID", nil
	case n == 0:
		return fmt.Sprintf("course %s is not on this hub", r.CourseID), nil
	case r.StartedAt.IsZero() || r.LastSeenAt.Before(r.StartedAt) || (r.ClosedAt != nil && r.ClosedAt.Before(r.StartedAt)):
		return "the span's course session ends before it starts", nil
	case r.LastSeenAt.After(now.Add(lim.Skew)) || (r.ClosedAt != nil && r.ClosedAt.After(now.Add(lim.Skew))):
		return fmt.Sprintf("the span's course session reaches past the hub's time %s", now.Format(time.RFC3339)), nil
	}
	var closed any
	if r.ClosedAt != nil {
		closed = store.TimeText(*r.ClosedAt)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO course_sessions (id, worker_id, course_id, started_at, last_seen_at, closed_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			started_at = CASE WHEN excluded.started_at < course_sessions.started_at THEN excluded.started_at ELSE course_sessions.started_at END,
			last_seen_at = CASE WHEN excluded.last_seen_at > course_sessions.last_seen_at THEN excluded.last_seen_at ELSE course_sessions.last_seen_at END,
			closed_at = coalesce(excluded.closed_at, course_sessions.closed_at)
		WHERE course_sessions.worker_id = excluded.worker_id`,
		r.ID, r.WorkerID, r.CourseID, store.TimeText(r.StartedAt), store.TimeText(r.LastSeenAt), closed, store.TimeText(st.Now()))
	return "", err
}

// ReceiveSpan stores, on the hub, a span a center recorded under id (its
// times already on the hub's clock), with the course session it lies in,
// once work.CheckSpan allows it, and pays training time at hourly; all
// inside the upload's transaction tx. A refused span is answered rejected
// with the reason, for good.
func ReceiveSpan(ctx context.Context, st *store.Store, tx *store.Tx, centerID, id string, r wire.Activity, lim work.SpanLimits, hourly int64) (wire.Verdict, error) {
	if v, ok, err := auth.CenterWorker(ctx, tx, centerID, r.WorkerID); !ok || err != nil {
		return v, err
	}
	if r.Session != nil {
		reason, err := receiveSession(ctx, st, tx, r.WorkerID, *r.Session, lim)
		if err != nil || reason != "" {
			return wire.Verdict{Status: wire.StatusRejected, Reason: reason}, err
		}
	}
	err := tx.Savepoint(ctx, func() error {
		return recordSpan(ctx, st, tx, id, ActivityRecord{WorkerID: r.WorkerID, Activity: r.Activity}, lim)
	})
	var se *work.SpanError
	if errors.As(err, &se) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: se.Error()}, nil
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	return wire.Verdict{Status: wire.StatusAccepted}, ledger.PayTraining(ctx, tx, id, r.WorkerID, r.ActiveMS, hourly, store.TimeText(st.Now()))
}
