package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// This file is the center's side of the store: the tasks a center leased,
// its workers' work on them, and its outbox. A center always runs on
// SQLite.

// CenterProject is what a center keeps of a project.
type CenterProject struct {
	ID           string
	Kind         work.Kind
	Language     string
	Instructions string
	Schema       *work.Schema
	MinAnswerMS  int64
}

// CenterGrant is a leased task as the center keeps it.
type CenterGrant struct {
	LeaseID   string
	TaskKey   string
	ProjectID string
	Epoch     int
	Slots     int
	Payload   json.RawMessage
	// TTL is how long the lease runs from its receipt, by the center's own
	// clock.
	TTL time.Duration
	// Exclude lists workers who must not be offered the task: they
	// answered it under an earlier lease.
	Exclude []string
	// Files are the task's attachments; the task is offered only once
	// every one is in the center's blob store.
	Files []TaskFile
	// Due is the time left to the batch's deadline at receipt; 0 means
	// none. Tasks due soonest are offered first.
	Due time.Duration
}

// OutboxRow is one record waiting to go up.
type OutboxRow struct {
	Seq  int64
	ID   string
	Kind string
	Body json.RawMessage
}

// AppendOutbox adds a record born at a center to the outbox inside a
// domain's transaction (training's spans and course answers), to go up to
// the hub. It moves with the outbox to the center's own store.
func (s *Store) AppendOutbox(ctx context.Context, tx *Tx, id, kind string, body any) error {
	return s.appendOutbox(ctx, tx.tx, id, kind, body)
}

// appendOutbox adds a record to the outbox inside the caller's transaction.
func (s *Store) appendOutbox(ctx context.Context, tx *sql.Tx, id, kind string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// seq is computed rather than left to the engine so the statement is
	// the same on every engine; the writer transaction serialises it.
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (seq, id, kind, body, created_at)
		VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?, ?, ?, ?)`, id, kind, string(raw), ts(s.now()))
	return err
}

// SaveGrants keeps leased tasks and their projects. A grant already held
// is left alone.
func (s *Store) SaveGrants(ctx context.Context, projects []CenterProject, grants []CenterGrant) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		for _, p := range projects {
			schema, err := json.Marshal(p.Schema)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO center_projects (id, kind, language, instructions, schema, min_answer_ms, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, language = excluded.language, instructions = excluded.instructions,
					schema = excluded.schema, min_answer_ms = excluded.min_answer_ms, updated_at = excluded.updated_at`,
				p.ID, string(p.Kind), p.Language, p.Instructions, string(schema), p.MinAnswerMS, ts(now)); err != nil {
				return err
			}
		}
		for _, g := range grants {
			var due sql.NullString
			if g.Due > 0 {
				due = sql.NullString{String: ts(now.Add(g.Due)), Valid: true}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO center_grants (lease_id, task_key, project_id, epoch, slots, payload, state, local_deadline, received_at, due)
				VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT (lease_id) DO NOTHING`,
				g.LeaseID, g.TaskKey, g.ProjectID, g.Epoch, g.Slots, string(g.Payload), ts(now.Add(g.TTL)), ts(now), due); err != nil {
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
		return fmt.Errorf("store: save grants: %w", err)
	}
	return nil
}

// CenterOffer is a leased task handed to a center worker.
type CenterOffer struct {
	WorkID    string
	ExpiresAt time.Time
	Payload   json.RawMessage
	Project   CenterProject
	Files     []TaskFile
}

func scanCenterProject(r scanner) (CenterProject, error) {
	var p CenterProject
	var kind, schema string
	if err := r.Scan(&p.ID, &kind, &p.Language, &p.Instructions, &schema, &p.MinAnswerMS); err != nil {
		return p, err
	}
	p.Kind = work.Kind(kind)
	sc, err := work.DecodeSchema(p.Kind, []byte(schema))
	p.Schema = sc
	return p, err
}

// CenterClaim hands a center worker their next leased task: their work in
// hand if they have some, else the oldest task with a free slot that they
// have not done, whose lease has not run out by the center's clock, and
// whose skill the hub has not suspended them from.
func (s *Store) CenterClaim(ctx context.Context, workerID string, hold time.Duration) (CenterOffer, error) {
	var o CenterOffer
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		// Work held past its time goes back to the center's pool.
		if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders - (
				SELECT count(*) FROM center_work w WHERE w.lease_id = center_grants.lease_id AND w.state = 'active' AND w.expires_at <= ?)
			WHERE lease_id IN (SELECT lease_id FROM center_work WHERE state = 'active' AND expires_at <= ?)`, ts(now), ts(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE center_work SET state = 'expired' WHERE state = 'active' AND expires_at <= ?`, ts(now)); err != nil {
			return err
		}
		var leaseID, expires string
		err := tx.QueryRowContext(ctx, `SELECT id, lease_id, expires_at FROM center_work WHERE worker_id = ? AND state = 'active' LIMIT 1`,
			workerID).Scan(&o.WorkID, &leaseID, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT g.lease_id FROM center_grants g
				WHERE g.state = 'active' AND g.local_deadline > ? AND g.given + g.holders < g.slots
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
				ORDER BY g.due IS NULL, g.due, g.received_at, g.lease_id LIMIT 1`, ts(now), workerID, workerID, workerID, workerID).Scan(&leaseID)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("no leased task for worker %s: %w", workerID, ErrNotFound)
			}
			if err != nil {
				return err
			}
			o.WorkID, expires = work.NewID(), ts(now.Add(hold))
			if _, err := tx.ExecContext(ctx, `INSERT INTO center_work (id, lease_id, worker_id, state, created_at, expires_at)
				VALUES (?, ?, ?, 'active', ?, ?)`, o.WorkID, leaseID, workerID, ts(now), expires); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders + 1 WHERE lease_id = ?`, leaseID); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		o.ExpiresAt = parseTS(expires)
		var payload string
		if err := tx.QueryRowContext(ctx, `SELECT payload FROM center_grants WHERE lease_id = ?`, leaseID).Scan(&payload); err != nil {
			return err
		}
		o.Payload = json.RawMessage(payload)
		o.Project, err = scanCenterProject(tx.QueryRowContext(ctx, `SELECT p.id, p.kind, p.language, p.instructions, p.schema, p.min_answer_ms
			FROM center_projects p JOIN center_grants g ON g.project_id = p.id WHERE g.lease_id = ?`, leaseID))
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT field, name, sha256, size, media_type FROM center_files WHERE lease_id = ? ORDER BY field`, leaseID)
		if err != nil {
			return err
		}
		if o.Files, err = collect(rows, scanTaskFile); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE center_blobs SET used_at = ? WHERE sha256 IN (SELECT sha256 FROM center_files WHERE lease_id = ?)`,
			ts(now), leaseID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return CenterOffer{}, err
	}
	if err != nil {
		return CenterOffer{}, fmt.Errorf("store: center claim for %s: %w", workerID, err)
	}
	return o, nil
}

// CenterWorkProject returns the project of a piece of center work, so the
// caller can validate the answer before saving it.
func (s *Store) CenterWorkProject(ctx context.Context, workID, workerID string) (CenterProject, error) {
	p, err := scanCenterProject(s.r.QueryRowContext(ctx, `SELECT p.id, p.kind, p.language, p.instructions, p.schema, p.min_answer_ms
		FROM center_work w JOIN center_grants g ON g.lease_id = w.lease_id JOIN center_projects p ON p.id = g.project_id
		WHERE w.id = ? AND w.worker_id = ?`, workID, workerID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("store: work %s: %w", workID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: work %s: %w", workID, err)
	}
	return p, nil
}

// CenterSave records a center worker's answer and its outbox record in one
// transaction: once it returns, the answer survives a power cut and will
// reach the hub. Saving the same answer again is harmless (duplicate is
// true); work that timed out is still saved while its grant has slots.
//
// The working time is the center's own measure: from the offer (or the
// center's restart after it, see RestartWorkClocks) to now by the center's
// clock, at most the hold the offer was made for. reportedMS, what the
// worker's client says, is kept as information only.
func (s *Store) CenterSave(ctx context.Context, workID, workerID string, answer work.Answer, reportedMS int64) (duplicate bool, err error) {
	raw, err := json.Marshal(answer)
	if err != nil {
		return false, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var leaseID, state, created, expires string
		var saved, timedFrom sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT lease_id, state, answer, created_at, expires_at, timed_from FROM center_work WHERE id = ? AND worker_id = ?`, workID, workerID).
			Scan(&leaseID, &state, &saved, &created, &expires, &timedFrom)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("work %s: %w", workID, ErrNotFound)
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
			return problem.Public(ErrConflict, "work %s already has a different answer", workID)
		}
		var epoch, given, slots int
		if err := tx.QueryRowContext(ctx, `SELECT epoch, given, slots FROM center_grants WHERE lease_id = ?`, leaseID).
			Scan(&epoch, &given, &slots); err != nil {
			return err
		}
		if state == "expired" && given >= slots {
			return fmt.Errorf("work %s timed out and its task has all its answers: %w", workID, ErrAssignmentClosed)
		}
		now := s.now()
		from := parseTS(created)
		if timedFrom.Valid {
			from = parseTS(timedFrom.String)
		}
		worked := s.workedMS(from, now, parseTS(expires).Sub(parseTS(created)))
		if _, err := tx.ExecContext(ctx, `UPDATE center_work SET state = 'saved', answer = ?, duration_ms = ?, reported_ms = ?, saved_at = ? WHERE id = ?`,
			string(raw), worked, reportedMS, ts(now), workID); err != nil {
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
		return s.appendOutbox(ctx, tx, workID, "answer", map[string]any{
			"lease_id": leaseID, "epoch": epoch, "worker_id": workerID, "answer": json.RawMessage(raw), "duration_ms": worked,
			"started_at": from, "reported_ms": reportedMS,
		})
	})
	if err != nil {
		return false, fmt.Errorf("store: save work %s: %w", workID, err)
	}
	return duplicate, nil
}

// RestartWorkClocks starts the center's measure of every offer in a
// worker's hands anew: called when the center starts, so the time it was
// down (a power cut, say) is not counted as work.
func (s *Store) RestartWorkClocks(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE center_work SET timed_from = ? WHERE state = 'active'`, ts(s.now())); err != nil {
		return fmt.Errorf("store: restart work clocks: %w", err)
	}
	return nil
}

// PendingOutbox returns up to limit unacknowledged records, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxRow, error) {
	return s.PendingOutboxAfter(ctx, 0, limit)
}

// PendingOutboxAfter returns up to limit unacknowledged records after seq,
// oldest first, for a sender with chunks already in flight.
func (s *Store) PendingOutboxAfter(ctx context.Context, seq int64, limit int) ([]OutboxRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, kind, body FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	return collect(rows, func(r scanner) (OutboxRow, error) {
		var o OutboxRow
		var body string
		err := r.Scan(&o.Seq, &o.ID, &o.Kind, &body)
		o.Body = json.RawMessage(body)
		return o, err
	})
}

// AckOutbox marks records answered by the hub, with its verdict.
func (s *Store) AckOutbox(ctx context.Context, acks map[string][2]string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		for id, a := range acks {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET acked_at = ?, status = ?, reason = ? WHERE id = ? AND acked_at IS NULL`,
				now, a[0], a[1], id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: ack outbox: %w", err)
	}
	return nil
}

// OutboxWith counts outbox records whose body contains text: a check that
// something erased is gone from the outbox too.
func (s *Store) OutboxWith(ctx context.Context, text string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE body LIKE ?`, "%"+text+"%").Scan(&n)
	return n, err
}

// ActiveGrants lists the lease ids the center still works on.
func (s *Store) ActiveGrants(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT lease_id FROM center_grants WHERE state = 'active' ORDER BY lease_id`)
	if err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	return collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// DropGrants stops work on leases the hub says are gone, and on leases
// whose every slot has its answer and whose answers the hub has
// acknowledged.
func (s *Store) DropGrants(ctx context.Context, ids []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		return fmt.Errorf("store: drop grants: %w", err)
	}
	return nil
}

// CenterStatus is what a center shows of its queue and uplink.
type CenterStatus struct {
	Workers      int `json:"workers"`
	ActiveGrants int `json:"active_grants"`
	FreeSlots    int `json:"free_slots"`
	Pending      int `json:"outbox_pending"`
	Sent         int `json:"outbox_acknowledged"`
	// FilesMissing counts attachments active grants need that are not
	// fetched yet; their tasks wait for them.
	FilesMissing int `json:"files_missing"`
	// CacheBytes is the size of the attachments on disk.
	CacheBytes int64 `json:"cache_bytes"`
}

// CenterQueue counts the center's workers, leased work and outbox.
func (s *Store) CenterQueue(ctx context.Context) (CenterStatus, error) {
	var st CenterStatus
	err := s.r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM users WHERE role = 'worker'),
			(SELECT count(*) FROM center_grants WHERE state = 'active'),
			(SELECT coalesce(sum(slots - given - holders), 0) FROM center_grants WHERE state = 'active' AND local_deadline > ?),
			(SELECT count(*) FROM outbox WHERE acked_at IS NULL),
			(SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL),
			(SELECT count(DISTINCT f.sha256) FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
			 WHERE g.state = 'active' AND NOT EXISTS (SELECT 1 FROM center_blobs b WHERE b.sha256 = f.sha256)),
			(SELECT coalesce(sum(size), 0) FROM center_blobs)`, ts(s.now())).
		Scan(&st.Workers, &st.ActiveGrants, &st.FreeSlots, &st.Pending, &st.Sent, &st.FilesMissing, &st.CacheBytes)
	if err != nil {
		return st, fmt.Errorf("store: center queue: %w", err)
	}
	return st, nil
}

// CenterSaved lists the ids of every answer saved at the center.
func (s *Store) CenterSaved(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM center_work WHERE state = 'saved' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: saved work: %w", err)
	}
	return collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// purgeGone forgets the client's data of tasks the center is done with: a
// grant that is gone, every answer to which the hub has acknowledged,
// keeps no payload, and those answers' outbox copies keep no body. The
// center keeps only ids and states.
func purgeGone(ctx context.Context, tx *sql.Tx) error {
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

// CenterPayloadsKept counts leased tasks whose client data the center
// still holds.
func (s *Store) CenterPayloadsKept(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM center_grants WHERE payload <> '{}'`).Scan(&n)
	return n, err
}
