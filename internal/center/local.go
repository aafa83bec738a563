package center

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Local is a village center's local store: the tasks it leased with their
// projects and files, its workers' work on them, the answers they saved
// (each with its outbox row, to go up to the hub), reviews of those
// answers, and what the office shows of the center's people. It runs its
// SQL on the center's store, which always runs on SQLite at a center. The
// center's workers reach it through dispatch.Desk (the API's and the
// desk's), and the syncer through uplink.Local.
type Local struct {
	Store *store.Store
	// WorkTimeScale multiplies the working time the center measures
	// (from an offer to its answer); 0 means 1. It is for simulations
	// only (see work.WorkedMS): a real center leaves it at 1.
	WorkTimeScale float64
	// Feed is how the center keeps each kind of event on its down feed;
	// an event of a kind not listed is skipped.
	Feed feed.Kinds
	// Hold is how long a worker holds a task before it goes back to the
	// center's pool; 0 means ten minutes, Config.Hold's default.
	Hold time.Duration
	// Nudge, when set, is called after an answer is saved, so that the
	// syncer sends it up now rather than at its next tick.
	Nudge func()
}

// Local is the center's Desk.
var _ dispatch.Desk = (*Local)(nil)

// defaultHold is how long a worker holds a task when Config.Hold (and
// Local.Hold) is not set.
const defaultHold = 10 * time.Minute

// Now is the center's clock.
func (l *Local) Now() time.Time { return l.Store.Now() }

// SaveGrants keeps leased tasks and their projects. A grant already held
// is left alone. Each lease runs out ttl after its receipt by the center's
// own clock: hub and center clocks may disagree by days, so only spans
// are trusted (ttl, and a grant's DueInSeconds, not its times).
func (l *Local) SaveGrants(ctx context.Context, ttl time.Duration, grants []wire.Grant) error {
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		now := l.Store.Now()
		saved := map[string]bool{}
		for _, g := range grants {
			p := g.Project
			if saved[p.ID] {
				continue
			}
			saved[p.ID] = true
			if err := saveProject(ctx, tx, p, now); err != nil {
				return err
			}
		}
		for _, g := range grants {
			var due sql.NullString
			if g.DueInSeconds > 0 {
				due = sql.NullString{String: store.TimeText(now.Add(time.Duration(g.DueInSeconds) * time.Second)), Valid: true}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO center_grants (lease_id, task_key, project_id, epoch, slots, payload, state, local_deadline, received_at, due,
					rework_note)
				VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?) ON CONFLICT (lease_id) DO NOTHING`,
				g.LeaseID, g.TaskKey, g.Project.ID, g.Epoch, g.Slots, string(g.Payload), store.TimeText(now.Add(ttl)), store.TimeText(now), due,
				g.ReworkNote); err != nil {
				return err
			}
			for _, f := range g.Files {
				if _, err := tx.ExecContext(ctx, `INSERT INTO center_files (lease_id, field, name, sha256, size, media_type)
					VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lease_id, field) DO NOTHING`,
					g.LeaseID, f.Field, f.Name, f.SHA256, f.Size, f.MediaType); err != nil {
					return err
				}
			}
			for _, w := range g.Exclude {
				if _, err := tx.ExecContext(ctx, `INSERT INTO center_grant_exclusions (lease_id, worker_id) VALUES (?, ?)
					ON CONFLICT (lease_id, worker_id) DO NOTHING`, g.LeaseID, w); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("center: save grants: %w", err)
	}
	return nil
}

// saveProject keeps a project as the hub sent it, with a grant or an
// audit.
func saveProject(ctx context.Context, tx *store.Tx, p wire.Project, now time.Time) error {
	schema, err := json.Marshal(p.Schema)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO center_projects (id, kind, language, instructions, schema, min_answer_ms, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, language = excluded.language, instructions = excluded.instructions,
			schema = excluded.schema, min_answer_ms = excluded.min_answer_ms, updated_at = excluded.updated_at`,
		p.ID, string(p.Kind), p.Language, p.Instructions, string(schema), p.MinAnswerMS, store.TimeText(now))
	return err
}

// projectCols are the columns scanProject reads, of center_projects p.
const projectCols = `p.id, p.kind, p.language, p.instructions, p.schema, p.min_answer_ms`

func scanProject(r store.Scanner) (wire.Project, error) {
	var p wire.Project
	var kind, schema string
	if err := r.Scan(&p.ID, &kind, &p.Language, &p.Instructions, &schema, &p.MinAnswerMS); err != nil {
		return p, err
	}
	p.Kind = work.Kind(kind)
	sc, err := work.DecodeSchema(p.Kind, []byte(schema))
	p.Schema = sc
	return p, err
}

// Next hands a center worker their next leased task, held for Hold (see
// Claim); dispatch.ErrNoWork when there is none.
func (l *Local) Next(ctx context.Context, workerID, projectID string) (dispatch.Offer, error) {
	hold := l.Hold
	if hold <= 0 {
		hold = defaultHold
	}
	o, err := l.Claim(ctx, workerID, projectID, hold)
	if errors.Is(err, store.ErrNotFound) {
		return dispatch.Offer{}, dispatch.ErrNoWork
	}
	return o, err
}

// Claim hands a center worker their next leased task, held for hold: their
// work in hand if they have some, else the oldest task with a free slot
// that they have not done, whose lease has not run out by the center's
// clock, and whose skill the hub has not suspended them from. projectID
// "" means any project; otherwise only that project's work is offered, as
// on the hub. It returns store.ErrNotFound when there is no work for the
// worker.
func (l *Local) Claim(ctx context.Context, workerID, projectID string, hold time.Duration) (dispatch.Offer, error) {
	var o dispatch.Offer
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		now := l.Store.Now()
		// Work held past its time goes back to the center's pool.
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders - (
				SELECT count(*) FROM center_work w WHERE w.lease_id = center_grants.lease_id AND w.state = 'active' AND w.expires_at <= ?)
			WHERE lease_id IN (SELECT lease_id FROM center_work WHERE state = 'active' AND expires_at <= ?)`, store.TimeText(now), store.TimeText(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE center_work SET state = 'expired' WHERE state = 'active' AND expires_at <= ?`, store.TimeText(now)); err != nil {
			return err
		}
		var leaseID, expires string
		err := tx.QueryRowContext(ctx, `SELECT w.id, w.lease_id, w.expires_at FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id
			WHERE w.worker_id = ? AND w.state = 'active' AND (? = '' OR g.project_id = ?) LIMIT 1`,
			workerID, projectID, projectID).Scan(&o.WorkID, &leaseID, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT g.lease_id FROM center_grants g
				WHERE g.state = 'active' AND g.local_deadline > ? AND g.given + g.holders < g.slots AND (? = '' OR g.project_id = ?)
				  AND NOT EXISTS (SELECT 1 FROM center_work w JOIN center_grants g2 ON g2.lease_id = w.lease_id
				                  WHERE g2.task_key = g.task_key AND w.worker_id = ?)
				  AND NOT EXISTS (SELECT 1 FROM center_grant_exclusions x WHERE x.lease_id = g.lease_id AND x.worker_id = ?)
				  AND NOT EXISTS (SELECT 1 FROM center_skills k JOIN center_projects p ON p.kind = k.kind AND p.language = k.language
				                  WHERE p.id = g.project_id AND k.worker_id = ? AND k.status = 'suspended')
				  AND NOT EXISTS (SELECT 1 FROM courses c JOIN center_projects p ON p.kind = c.kind AND p.language = c.language
				                  WHERE p.id = g.project_id AND c.purpose = 'qualification'
				                    AND NOT EXISTS (SELECT 1 FROM center_skills k WHERE k.worker_id = ? AND k.kind = c.kind
				                                    AND k.language = c.language AND k.qualified = 1))
				  AND NOT EXISTS (SELECT 1 FROM center_files f WHERE f.lease_id = g.lease_id
				                  AND NOT EXISTS (SELECT 1 FROM center_blobs b WHERE b.sha256 = f.sha256))
				ORDER BY g.due IS NULL, g.due, g.received_at, g.lease_id LIMIT 1`, store.TimeText(now), projectID, projectID, workerID, workerID, workerID, workerID).Scan(&leaseID)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("no leased task for worker %s: %w", workerID, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			o.WorkID, expires = work.NewID(), store.TimeText(now.Add(hold))
			if _, err := tx.ExecContext(ctx, `INSERT INTO center_work (id, lease_id, worker_id, state, created_at, expires_at)
				VALUES (?, ?, ?, 'active', ?, ?)`, o.WorkID, leaseID, workerID, store.TimeText(now), expires); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders + 1 WHERE lease_id = ?`, leaseID); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		o.ExpiresAt = store.ParseTimeText(expires)
		var payload string
		if err := tx.QueryRowContext(ctx, `SELECT payload, rework_note FROM center_grants WHERE lease_id = ?`, leaseID).Scan(&payload, &o.ReworkNote); err != nil {
			return err
		}
		o.Payload = json.RawMessage(payload)
		p, err := scanProject(tx.QueryRowContext(ctx, `SELECT `+projectCols+`
			FROM center_projects p JOIN center_grants g ON g.project_id = p.id WHERE g.lease_id = ?`, leaseID))
		if err != nil {
			return err
		}
		o.ProjectID, o.Kind, o.Schema, o.Instructions = p.ID, p.Kind, p.Schema, p.Instructions
		rows, err := tx.QueryContext(ctx, `SELECT field, name, sha256, size, media_type FROM center_files WHERE lease_id = ? ORDER BY field`, leaseID)
		if err != nil {
			return err
		}
		if o.Files, err = store.Collect(rows, scanFile); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE center_blobs SET used_at = ? WHERE sha256 IN (SELECT sha256 FROM center_files WHERE lease_id = ?)`,
			store.TimeText(now), leaseID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return dispatch.Offer{}, err
	}
	if err != nil {
		return dispatch.Offer{}, fmt.Errorf("center: claim for %s: %w", workerID, err)
	}
	return o, nil
}

// Answer validates a center worker's answer against the project's schema
// and saves it (see Save): AnswerAccepted means saved at the center,
// committed with its outbox record, on its way to the hub. The working
// time is measured from the offer's own row.
func (l *Local) Answer(ctx context.Context, in dispatch.Submission) (dispatch.AnswerStatus, error) {
	p, err := l.workProject(ctx, in.WorkID, in.WorkerID)
	if err != nil {
		return "", err
	}
	answer, err := work.ParseAnswer(p.Kind, p.Schema, in.Answer)
	if err != nil {
		return "", err
	}
	duplicate, err := l.Save(ctx, in.WorkID, in.WorkerID, answer, max(0, in.ReportedMS))
	if err != nil {
		return "", err
	}
	if l.Nudge != nil {
		l.Nudge()
	}
	if duplicate {
		return dispatch.AnswerDuplicate, nil
	}
	return dispatch.AnswerAccepted, nil
}

// Pass gives a worker's live work back to the center's pool unanswered,
// as dispatch.Service.Pass does on the hub.
func (l *Local) Pass(ctx context.Context, workerID, workID string) error {
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		var leaseID string
		err := tx.QueryRowContext(ctx, `UPDATE center_work SET state = 'expired'
			WHERE id = ? AND worker_id = ? AND state = 'active' RETURNING lease_id`, workID, workerID).Scan(&leaseID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("live work %s: %w", workID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders - 1 WHERE lease_id = ? AND holders > 0`, leaseID)
		return err
	})
	if err != nil {
		return fmt.Errorf("center: pass work: %w", err)
	}
	return nil
}

// workProject returns the project of a piece of center work, so that its
// answer is validated before it is saved.
func (l *Local) workProject(ctx context.Context, workID, workerID string) (wire.Project, error) {
	p, err := scanProject(l.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+projectCols+`
		FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id JOIN center_projects p ON p.id = g.project_id
		WHERE w.id = ? AND w.worker_id = ?`, workID, workerID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("center: work %s: %w", workID, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("center: work %s: %w", workID, err)
	}
	return p, nil
}

// Save records a center worker's answer and its outbox record in one
// transaction: once it returns, the answer survives a power cut and will
// reach the hub. Saving the same answer again is harmless (duplicate is
// true); work that timed out is still saved while its grant has slots.
//
// The working time is the center's own measure: from the offer (or the
// center's restart after it, see RestartWorkClocks) to now by the center's
// clock, at most the hold the offer was made for. reportedMS, what the
// worker's client says, is kept as information only.
func (l *Local) Save(ctx context.Context, workID, workerID string, answer work.Answer, reportedMS int64) (duplicate bool, err error) {
	raw, err := json.Marshal(answer)
	if err != nil {
		return false, err
	}
	err = l.Store.Write(ctx, func(tx *store.Tx) error {
		var leaseID, state, created, expires string
		var saved, timedFrom sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT lease_id, state, answer, created_at, expires_at, timed_from FROM center_work WHERE id = ? AND worker_id = ?`, workID, workerID).
			Scan(&leaseID, &state, &saved, &created, &expires, &timedFrom)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("work %s: %w", workID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state == "saved" {
			var prev work.Answer
			if err := json.Unmarshal([]byte(saved.String), &prev); err == nil && reflect.DeepEqual(prev, answer) {
				duplicate = true
				return nil
			}
			return problem.Public(store.ErrConflict, "work %s already has a different answer", workID)
		}
		var epoch, given, slots int
		if err := tx.QueryRowContext(ctx, `SELECT epoch, given, slots FROM center_grants WHERE lease_id = ?`, leaseID).
			Scan(&epoch, &given, &slots); err != nil {
			return err
		}
		if state == "expired" && given >= slots {
			return fmt.Errorf("work %s timed out and its task has all its answers: %w", workID, dispatch.ErrAssignmentClosed)
		}
		now := l.Store.Now()
		from := store.ParseTimeText(created)
		if timedFrom.Valid {
			from = store.ParseTimeText(timedFrom.String)
		}
		worked := work.WorkedMS(from, now, store.ParseTimeText(expires).Sub(store.ParseTimeText(created)), l.WorkTimeScale)
		if _, err := tx.ExecContext(ctx, `UPDATE center_work SET state = 'saved', answer = ?, duration_ms = ?, reported_ms = ?, saved_at = ? WHERE id = ?`,
			string(raw), worked, reportedMS, store.TimeText(now), workID); err != nil {
			return err
		}
		held := 0
		if state == "active" {
			held = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET given = given + 1, holders = holders - ? WHERE lease_id = ?`,
			held, leaseID); err != nil {
			return err
		}
		return uplink.AppendOutbox(ctx, tx, now, workID, wire.KindAnswer, wire.Answer{LeaseID: leaseID, Epoch: epoch,
			WorkerID: workerID, Answer: raw, DurationMS: worked, StartedAt: from, ReportedMS: reportedMS})
	})
	if err != nil {
		return false, fmt.Errorf("center: save work %s: %w", workID, err)
	}
	return duplicate, nil
}

// RestartWorkClocks starts the center's measure of every offer in a
// worker's hands anew: called when the center starts, so the time it was
// down (a power cut, say) is not counted as work.
func (l *Local) RestartWorkClocks(ctx context.Context) error {
	if _, err := l.Store.Exec(ctx, `UPDATE center_work SET timed_from = ? WHERE state = 'active'`, store.TimeText(l.Store.Now())); err != nil {
		return fmt.Errorf("center: restart work clocks: %w", err)
	}
	return nil
}

// ActiveGrants lists the lease ids the center still works on.
func (l *Local) ActiveGrants(ctx context.Context) ([]string, error) {
	rows, err := l.Store.Read(ctx).QueryContext(ctx, `SELECT lease_id FROM center_grants WHERE state = 'active' ORDER BY lease_id`)
	if err != nil {
		return nil, fmt.Errorf("center: active grants: %w", err)
	}
	return store.Collect(rows, scanID)
}

func scanID(r store.Scanner) (string, error) {
	var id string
	return id, r.Scan(&id)
}

// DropGrants stops work on leases the hub says are gone, and on leases
// whose every slot has its answer and whose answers the hub has
// acknowledged.
func (l *Local) DropGrants(ctx context.Context, ids []string) error {
	err := l.Store.Write(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE lease_id = ?`, id); err != nil {
				return err
			}
		}
		// A grant with every answer given stays active until those answers
		// are acknowledged: the heartbeat names it meanwhile, so the hub
		// keeps its slots rather than handing the task out again.
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE state = 'active' AND given >= slots
			AND NOT EXISTS (SELECT 1 FROM center_work w JOIN outbox o ON o.id = w.id
			                WHERE w.lease_id = center_grants.lease_id AND o.acked_at IS NULL)`); err != nil {
			return err
		}
		// A grant none of the center's workers can take a place of (each
		// has answered the task, or is suspended from its skill) goes back
		// too, once its answers are acknowledged: the hub then gives the
		// places to someone else instead of waiting for this center.
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE state = 'active' AND holders = 0
			AND EXISTS (SELECT 1 FROM users WHERE role = 'worker')
			AND NOT EXISTS (SELECT 1 FROM center_work w JOIN outbox o ON o.id = w.id
			                WHERE w.lease_id = center_grants.lease_id AND o.acked_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM users u WHERE u.role = 'worker'
				AND NOT EXISTS (SELECT 1 FROM center_work w JOIN center_grants g2 ON g2.lease_id = w.lease_id
				                WHERE g2.task_key = center_grants.task_key AND w.worker_id = u.id)
				AND NOT EXISTS (SELECT 1 FROM center_grant_exclusions x WHERE x.lease_id = center_grants.lease_id AND x.worker_id = u.id)
				AND NOT EXISTS (SELECT 1 FROM center_skills k JOIN center_projects p ON p.kind = k.kind AND p.language = k.language
				                WHERE p.id = center_grants.project_id AND k.worker_id = u.id AND k.status = 'suspended'))`); err != nil {
			return err
		}
		return purgeGone(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("center: drop grants: %w", err)
	}
	return nil
}

// Queue counts the center's workers, leased work, outbox and cached
// files.
func (l *Local) Queue(ctx context.Context) (uplink.CenterStatus, error) {
	var st uplink.CenterStatus
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM users WHERE role = 'worker'),
			(SELECT count(*) FROM center_grants WHERE state = 'active'),
			(SELECT coalesce(sum(slots - given - holders), 0) FROM center_grants WHERE state = 'active' AND local_deadline > ?),
			(SELECT count(*) FROM outbox WHERE acked_at IS NULL),
			(SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL),
			(SELECT count(DISTINCT f.sha256) FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
			 WHERE g.state = 'active' AND NOT EXISTS (SELECT 1 FROM center_blobs b WHERE b.sha256 = f.sha256)),
			(SELECT coalesce(sum(size), 0) FROM center_blobs)`, store.TimeText(l.Store.Now())).
		Scan(&st.Workers, &st.ActiveGrants, &st.FreeSlots, &st.Pending, &st.Sent, &st.FilesMissing, &st.CacheBytes)
	if err != nil {
		return st, fmt.Errorf("center: queue: %w", err)
	}
	return st, nil
}

// Saved lists the ids of every answer saved at the center.
func (l *Local) Saved(ctx context.Context) ([]string, error) {
	rows, err := l.Store.Read(ctx).QueryContext(ctx, `SELECT id FROM center_work WHERE state = 'saved' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("center: saved work: %w", err)
	}
	return store.Collect(rows, scanID)
}

// purgeGone forgets the client's data of tasks the center is done with: a
// grant that is gone, every answer to which the hub has acknowledged,
// keeps no payload, and those answers' outbox copies keep no body. The
// center keeps only ids and states.
func purgeGone(ctx context.Context, tx *store.Tx) error {
	const done = `state = 'gone' AND NOT EXISTS (SELECT 1 FROM center_work w JOIN outbox o ON o.id = w.id
		WHERE w.lease_id = center_grants.lease_id AND o.acked_at IS NULL)`
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET body = '{}' WHERE body <> '{}' AND acked_at IS NOT NULL
		AND id IN (SELECT w.id FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id
		           WHERE g.state = 'gone' AND g.payload <> '{}')`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE center_grants SET payload = '{}' WHERE payload <> '{}' AND `+done)
	return err
}

// PayloadsKept counts leased tasks whose client data the center still
// holds.
func (l *Local) PayloadsKept(ctx context.Context) (int, error) {
	var n int
	err := l.Store.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM center_grants WHERE payload <> '{}'`).Scan(&n)
	return n, err
}

// FeedCursor is where the center's down feed continues from; 0 before
// the first read.
func (l *Local) FeedCursor(ctx context.Context) (int64, error) { return feed.Cursor(ctx, l.Store) }

// ApplyFeed keeps the events the hub sent, by the appliers of their kinds
// (Feed), and the cursor to continue from, in one transaction; reset (a
// snapshot) clears what the center held of each kind first.
func (l *Local) ApplyFeed(ctx context.Context, events []wire.FeedEvent, next int64, reset bool) error {
	return l.Feed.Apply(ctx, l.Store, events, next, reset)
}
