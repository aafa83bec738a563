package dispatch

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Lease states.
const (
	LeaseActive   = "active"
	LeaseReturned = "returned" // the task settled, or the center gave it back
	LeaseExpired  = "expired"  // TTL and grace ran out; the task went back to the pool
	LeaseRecalled = "recalled"
)

// Lease is a center's hold on one task. Its id is the only name the center
// knows the task by: task ids date their upload and would tell gold apart.
type Lease struct {
	ID        string
	TaskID    string
	ProjectID string
	CenterID  string
	Epoch     int
	Slots     int
	Used      int
	State     string
	GrantedAt time.Time
	ExpiresAt time.Time
	// Payload is the task's input, sent with the grant.
	Payload json.RawMessage
	// Exclude lists the center's workers who answered the task already,
	// under an earlier lease: the center must not offer it to them.
	Exclude []string
	// TaskKey names the task for this center only (see TaskKey).
	TaskKey string
	// Files are the task's attachments, which the center fetches with
	// the lease.
	Files []project.TaskFile
	// Deadline is the SLA deadline of the task's batch, if it has one.
	Deadline *time.Time
}

// TaskKey names a task to one center: stable across that center's leases
// of the task, so the center never gives a worker the same task twice,
// but a hash, so it neither dates the task (task ids are UUIDv7, which
// would tell gold from work) nor means anything to another center.
func TaskKey(centerID, taskID string) string {
	sum := sha256.Sum256([]byte(centerID + ":" + taskID))
	return hex.EncodeToString(sum[:16])
}

// Skill names a kind of task in a language.
type Skill struct {
	Kind     string
	Language string
}

// LeaseRequest is what a center asks for.
type LeaseRequest struct {
	CenterID string
	// Want is how many answers' worth of work the center wants: tasks are
	// granted, due first, until their slots reach it.
	Want int
	// Skills limits the grant to projects of these kinds and languages;
	// empty means any.
	Skills []Skill
	// Exclude names skills the center's workers may not do (suspended, or
	// not qualified): no task of them is granted.
	Exclude []Skill
	TTL     time.Duration
	// GoldDraw returns a number uniform in [0, 1) for each task granted;
	// under the project's gold ratio a gold task is granted beside it.
	GoldDraw func() float64
}

// expireLeases ends leases past their TTL and grace, giving their unused
// slots back to the pool.
func (s *Service) expireLeases(ctx context.Context, tx *store.Tx, cutoff string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - (
			SELECT coalesce(sum(l.slots - l.used), 0) FROM leases l
			WHERE l.task_id = tasks.id AND l.state = 'active' AND l.expires_at <= ? AND l.used < l.slots)
		WHERE id IN (SELECT task_id FROM leases WHERE state = 'active' AND expires_at <= ?)`, cutoff, cutoff); err != nil {
		return fmt.Errorf("expire leases: %w", err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE leases SET state = 'expired' WHERE state = 'active' AND expires_at <= ?`, cutoff)
	return err
}

// releaseLeases returns the unused slots of a task's active leases, when
// the task settles or goes to review.
// Most tasks have none, so that case is one statement.
func releaseLeases(ctx context.Context, tx *store.Tx, taskID string) error {
	rows, err := tx.QueryContext(ctx, `UPDATE leases SET state = 'returned' WHERE task_id = ? AND state = 'active'
		RETURNING CASE WHEN slots > used THEN slots - used ELSE 0 END`, taskID)
	if err != nil {
		return err
	}
	free, err := store.Collect(rows, func(r store.Scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	})
	if err != nil {
		return err
	}
	unused := 0
	for _, n := range free {
		unused += n
	}
	if unused == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - ? WHERE id = ?`, unused, taskID)
	return err
}

// endLease ends one active lease in the given state: its unused slots go
// back to the task's pool at once.
func endLease(ctx context.Context, tx *store.Tx, leaseID, taskID, state, reason string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - (
			SELECT CASE WHEN slots > used THEN slots - used ELSE 0 END FROM leases WHERE id = ?) WHERE id = ?`, leaseID, taskID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE leases SET state = ?, recall_reason = ? WHERE id = ?`, state, reason, leaseID)
	return err
}

// centerRoom is, for the task t of project p, how many more places a
// center could fill: its workers who have not answered t and are not
// suspended from p's skill, less the places its active leases of t still
// hold. Its two arguments are the center's id.
const centerRoom = `(SELECT count(*) FROM users u WHERE u.org_id = ? AND u.role = 'worker'
		AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = u.id)
		AND NOT EXISTS (SELECT 1 FROM worker_skills k WHERE k.worker_id = u.id AND k.kind = p.kind AND k.language = p.language AND k.status = 'suspended'))
	- (SELECT coalesce(sum(l.slots - l.used), 0) FROM leases l WHERE l.task_id = t.id AND l.center_id = ? AND l.state = 'active' AND l.used < l.slots)`

// GrantLeases leases up to Want tasks to a center, due first (earliest
// effective due, then oldest: the order Claim hands tasks out in), each with
// as many of the answers it still wants as the center's workers can give
// (centerRoom), and mixes in gold at each project's
// ratio. Every grant increments the task's lease_epoch. Leases past their
// TTL plus the service's grace (LeaseGrace) are expired first, so their tasks can be
// granted again.
func (s *Service) GrantLeases(ctx context.Context, req LeaseRequest) ([]Lease, error) {
	var out []Lease
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		now := s.Store.Now()
		if err := s.expireLeases(ctx, tx, store.TimeText(now.Add(-s.leaseGrace()))); err != nil {
			return err
		}
		// A center is granted no more places on a task than it has
		// workers the hub knows of who could still answer it, less the
		// places it holds already: a place nobody there can fill would be
		// held, heartbeat after heartbeat, while the task waits. A center
		// that has told the hub of no worker yet is not capped.
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = ? AND role = 'worker'`, req.CenterID).Scan(&known); err != nil {
			return err
		}
		fit := func(room, want int) int {
			if known == 0 {
				return want
			}
			return max(0, min(room, want))
		}
		q := `SELECT t.id, t.project_id, t.wanted - t.answers - t.holders, p.gold_ratio, p.overlap, ` + centerRoom + `
			FROM tasks t JOIN projects p ON p.id = t.project_id
			WHERE t.state IN ('open', 'in_progress') AND t.gold = 0 AND t.wanted - t.answers - t.holders > 0`
		args := []any{req.CenterID, req.CenterID}
		if len(req.Skills) > 0 {
			var ors []string
			for _, sk := range req.Skills {
				ors = append(ors, `(p.kind = ? AND p.language = ?)`)
				args = append(args, sk.Kind, sk.Language)
			}
			q += ` AND (` + strings.Join(ors, " OR ") + `)`
		}
		for _, sk := range req.Exclude {
			q += ` AND NOT (p.kind = ? AND p.language = ?)`
			args = append(args, sk.Kind, sk.Language)
		}
		q += ` ORDER BY t.due, t.id LIMIT ?` + tx.LockSkip("t")
		args = append(args, req.Want)
		type pick struct {
			task, project        string
			slots, overlap, room int
			goldRatio            float64
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		picks, err := store.Collect(rows, func(r store.Scanner) (pick, error) {
			var p pick
			return p, r.Scan(&p.task, &p.project, &p.slots, &p.goldRatio, &p.overlap, &p.room)
		})
		if err != nil {
			return err
		}
		slots := 0
		for _, p := range picks {
			if slots >= req.Want {
				break // Want counts answers; each task brings several
			}
			if p.slots = fit(p.room, p.slots); p.slots == 0 {
				continue
			}
			slots += p.slots
			ids := []struct {
				task  string
				slots int
			}{{p.task, p.slots}}
			if p.goldRatio > 0 && req.GoldDraw != nil && req.GoldDraw() < p.goldRatio {
				var gold string
				var room int
				err := tx.QueryRowContext(ctx, `SELECT t.id, `+centerRoom+` FROM tasks t JOIN projects p ON p.id = t.project_id
					WHERE t.project_id = ? AND t.gold = 1
					AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.center_id = ? AND l.state = 'active')
					ORDER BY random() LIMIT 1`, req.CenterID, req.CenterID, p.project, req.CenterID).Scan(&gold, &room)
				if err == nil {
					if n := fit(room, p.overlap); n > 0 {
						ids = append(ids, struct {
							task  string
							slots int
						}{gold, n})
					}
				} else if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			for _, it := range ids {
				l, err := s.grant(ctx, tx, it.task, req.CenterID, it.slots, now, req.TTL)
				if err != nil {
					return err
				}
				out = append(out, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: grant leases to center %s: %w", req.CenterID, err)
	}
	return out, nil
}

func (s *Service) grant(ctx context.Context, tx *store.Tx, taskID, centerID string, slots int, now time.Time, ttl time.Duration) (Lease, error) {
	l := Lease{ID: work.NewID(), TaskID: taskID, CenterID: centerID, Slots: slots, State: LeaseActive,
		GrantedAt: now, ExpiresAt: now.Add(ttl), TaskKey: TaskKey(centerID, taskID)}
	var payload, batchID string
	err := tx.QueryRowContext(ctx, `UPDATE tasks SET lease_epoch = lease_epoch + 1, holders = holders + ?, state = 'in_progress', updated_at = ?
		WHERE id = ? RETURNING lease_epoch, project_id, payload, batch_id`, slots, store.TimeText(now), taskID).Scan(&l.Epoch, &l.ProjectID, &payload, &batchID)
	if err != nil {
		return Lease{}, err
	}
	l.Payload = json.RawMessage(payload)
	var deadline sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT deadline FROM batches WHERE id = ?`, batchID).Scan(&deadline); err != nil {
		return Lease{}, err
	}
	l.Deadline = store.ParseNullTimeText(deadline)
	if l.Files, err = project.TaskFilesIn(ctx, tx, taskID); err != nil {
		return Lease{}, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT a.worker_id FROM assignments a JOIN users u ON u.id = a.worker_id
		WHERE a.task_id = ? AND u.org_id = ? ORDER BY a.worker_id`, taskID, centerID)
	if err != nil {
		return Lease{}, err
	}
	if l.Exclude, err = store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}); err != nil {
		return Lease{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO leases (id, task_id, center_id, epoch, slots, state, granted_at, expires_at)
		VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`, l.ID, taskID, centerID, l.Epoch, slots, store.TimeText(now), store.TimeText(l.ExpiresAt))
	return l, err
}

const leaseCols = `l.id, l.task_id, t.project_id, l.center_id, l.epoch, l.slots, l.used, l.state, l.granted_at, l.expires_at`

func scanLease(r store.Scanner) (Lease, error) {
	var l Lease
	var granted, expires string
	err := r.Scan(&l.ID, &l.TaskID, &l.ProjectID, &l.CenterID, &l.Epoch, &l.Slots, &l.Used, &l.State, &granted, &expires)
	l.GrantedAt, l.ExpiresAt = store.ParseTimeText(granted), store.ParseTimeText(expires)
	return l, err
}

// Lease returns one lease.
func (s *Service) Lease(ctx context.Context, id string) (Lease, error) {
	l, err := scanLease(s.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+leaseCols+` FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("dispatch: lease %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("dispatch: lease %s: %w", id, err)
	}
	return l, nil
}

// RenewLeases pushes the expiry of a center's active leases to now + ttl.
// It returns the leases renewed and, for the others named, their state
// ("expired", "returned", "recalled", or "unknown"), so the center stops
// starting work on them. The ids are every lease the center holds: an
// active lease it does not name was granted but never reached it (the
// reply was lost, or the center died before saving it), and its task goes
// back to the pool now rather than after the TTL.
func (s *Service) RenewLeases(ctx context.Context, centerID string, ids []string, ttl time.Duration) (renewed []string, gone map[string]string, err error) {
	gone = map[string]string{}
	err = s.Store.Write(ctx, func(tx *store.Tx) error {
		now := s.Store.Now()
		named := make(map[string]bool, len(ids))
		for _, id := range ids {
			named[id] = true
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, task_id FROM leases WHERE center_id = ? AND state = 'active'`, centerID)
		if err != nil {
			return err
		}
		type lost struct{ id, task string }
		held, err := store.Collect(rows, func(r store.Scanner) (lost, error) {
			var l lost
			return l, r.Scan(&l.id, &l.task)
		})
		if err != nil {
			return err
		}
		for _, l := range held {
			if named[l.id] {
				continue
			}
			if err := endLease(ctx, tx, l.id, l.task, LeaseReturned, ""); err != nil {
				return err
			}
		}
		for _, id := range ids {
			var state, owner string
			err := tx.QueryRowContext(ctx, `SELECT state, center_id FROM leases WHERE id = ?`, id).Scan(&state, &owner)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != centerID) {
				gone[id] = "unknown"
				continue
			}
			if err != nil {
				return err
			}
			if state != LeaseActive {
				gone[id] = state
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE id = ?`, store.TimeText(now.Add(ttl)), id); err != nil {
				return err
			}
			renewed = append(renewed, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dispatch: renew leases of center %s: %w", centerID, err)
	}
	return renewed, gone, nil
}

// CenterAnswer is one answer given at a center, as the hub receives it:
// the same Submission a worker's answer on the hub is (its WorkID the id
// the center made for the answer), with what only a center's answer has.
type CenterAnswer struct {
	Submission
	CenterID string
	LeaseID  string
	Epoch    int
	// DurationMS is the working time the center measured by its own
	// clock; the hub takes it bounded by the lease's span so far.
	DurationMS int64
	// StartedAt is when that measure began, already put on the hub's
	// clock (see uplink's clock offset); zero when the center did not say.
	StartedAt  time.Time
	SampleDraw float64
}

// ReceiveAnswer stores an answer given at a center under the id the
// center made for it, inside the upload's transaction tx, and applies it
// like a hub worker's answer. An answer under the task's current lease
// epoch is "accepted"; one under an older epoch (the lease ran out and the
// task went elsewhere) is kept as "superseded", and, holding no place, is
// weighed as a late answer (see applyLate): an extra judgment only with
// room beside every holder, else flagged late. An answer that can never be
// applied (another center's lease, an answer the project's schema refuses)
// is "rejected" with the reason. decide settles the task; nil means the
// project's own (Decider).
func (s *Service) ReceiveAnswer(ctx context.Context, tx *store.Tx, in CenterAnswer, decide DecideFunc) (wire.Verdict, SubmitOutcome, error) {
	reject := func(format string, args ...any) (wire.Verdict, SubmitOutcome, error) {
		return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf(format, args...)}, SubmitOutcome{}, nil
	}
	// Locked: two chunks of one center in flight at once must not both
	// take the lease's last slot.
	l, err := scanLease(tx.QueryRowContext(ctx, `SELECT `+leaseCols+` FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.id = ?`+tx.ForUpdateOf("l"), in.LeaseID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && l.CenterID != in.CenterID) {
		return reject("lease %s is not one of this center's", in.LeaseID)
	}
	if err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	p, err := s.Project(ctx, l.ProjectID)
	if err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, in.Answer)
	if err != nil {
		return reject("%v", err)
	}
	raw, err := json.Marshal(answer)
	if err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	if decide == nil {
		decide = Decider(p)
	}
	if v, ok, err := auth.CenterWorker(ctx, tx, in.CenterID, in.WorkerID); !ok || err != nil {
		return v, SubmitOutcome{}, err
	}
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE task_id = ? AND worker_id = ?`,
		l.TaskID, in.WorkerID).Scan(&taken); err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	if taken > 0 {
		return reject("worker %s has answered this task already", in.WorkerID)
	}
	var epoch int
	if err := tx.QueryRowContext(ctx, `SELECT lease_epoch FROM tasks WHERE id = ?`, l.TaskID).Scan(&epoch); err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	v := wire.Verdict{Status: wire.StatusAccepted}
	if in.Epoch != l.Epoch || l.Epoch != epoch {
		v = wire.Verdict{Status: wire.StatusSuperseded, Reason: fmt.Sprintf("answered under lease epoch %d; the task is at epoch %d", in.Epoch, epoch)}
	}
	holders := 0
	if l.State == LeaseActive && l.Used < l.Slots {
		holders = 1
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leases SET used = used + 1 WHERE id = ?`, l.ID); err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	nowT := s.Store.Now()
	now := store.TimeText(nowT)
	// The center measured the working time; no answer given under this
	// lease can have taken longer than the lease has existed.
	worked := min(max(in.DurationMS, 0), work.WorkedMS(l.GrantedAt, nowT, time.Duration(math.MaxInt64), s.WorkTimeScale))
	// The work is placed where the center says it began, on the hub's
	// clock, if that lies inside the lease's span, and must fit between
	// there and now; else it is taken to have ended now.
	started := in.StartedAt
	if started.Before(l.GrantedAt) || started.After(nowT) {
		started = nowT.Add(-time.Duration(worked) * time.Millisecond)
		if started.Before(l.GrantedAt) {
			started = l.GrantedAt
		}
	}
	worked = min(worked, work.WorkedMS(started, nowT, time.Duration(math.MaxInt64), s.WorkTimeScale))
	if _, err := tx.ExecContext(ctx, `INSERT INTO assignments (id, task_id, project_id, worker_id, state, answer,
			created_at, expires_at, submitted_at, duration_ms, reported_ms)
		VALUES (?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?)`,
		in.WorkID, l.TaskID, l.ProjectID, in.WorkerID, string(raw), store.TimeText(started), now, now, worked, max(0, in.ReportedMS)); err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	out, err := s.applyAnswer(ctx, tx, applyArgs{assignmentID: in.WorkID, taskID: l.TaskID, project: p,
		workerID: in.WorkerID, answer: answer, durationMS: worked, sampleDraw: in.SampleDraw, holders: holders}, decide)
	if err != nil {
		return wire.Verdict{}, SubmitOutcome{}, err
	}
	return v, out, nil
}

// AnswersPresent counts how many of the given answer ids the hub holds.
func AnswersPresent(ctx context.Context, st *store.Store, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		var one int
		err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE id = ? AND state = 'submitted'`, id).Scan(&one)
		if err != nil {
			return 0, fmt.Errorf("dispatch: answer %s: %w", id, err)
		}
		n += one
	}
	return n, nil
}

// AnswersFromOrg counts the answers the hub holds from one organisation's
// workers.
func AnswersFromOrg(ctx context.Context, st *store.Store, orgID string) (int, error) {
	var n int
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM assignments a JOIN users u ON u.id = a.worker_id
		WHERE u.org_id = ? AND a.state = 'submitted'`, orgID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("dispatch: answers from %s: %w", orgID, err)
	}
	return n, nil
}
