package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"banyan/internal/work"
)

// FeedSkill is a feed event: a center worker's skill changed on the hub.
type FeedSkill struct {
	WorkerID string `json:"worker_id"`
	Kind     string `json:"kind"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Qualified says the worker passed the skill's qualification.
	Qualified bool `json:"qualified,omitempty"`
}

// FeedEvent is one entry of a center's down feed.
type FeedEvent struct {
	Seq  int64           `json:"seq"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// feedSkill appends a skill change to the feed of the worker's center,
// when the worker belongs to a village center (not the hub's own).
func (s *Store) feedSkill(ctx context.Context, tx *sql.Tx, workerID, kind, language, status, reason, now string) error {
	var org string
	if err := tx.QueryRowContext(ctx, `SELECT o.id FROM users u JOIN orgs o ON o.id = u.org_id
		WHERE u.id = ? AND o.kind = 'center' AND o.id <> ?`, workerID, builtinCenterOrgID).Scan(&org); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	var qualified bool
	if err := tx.QueryRowContext(ctx, `SELECT qualified FROM worker_skills WHERE worker_id = ? AND kind = ? AND language = ?`,
		workerID, kind, language).Scan(&qualified); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return s.feedTo(ctx, tx, org, "skill", FeedSkill{WorkerID: workerID, Kind: kind, Language: language, Status: status, Reason: reason,
		Qualified: qualified}, now)
}

// Feed returns the center's feed from cursor, up to limit events, and the
// cursor to ask with next. A cursor c means "every event before sequence
// c has been applied". Cursor 0 (a center's first sync) and a cursor the
// hub did not give (ahead of its feed) get a full snapshot with reset set:
// the center's workers' skills, the projects of its active leases and
// every course. (Leases themselves are reconciled by the heartbeat.)
func (s *Store) Feed(ctx context.Context, centerID string, cursor int64, limit int) (events []FeedEvent, next int64, reset bool, err error) {
	var top int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM feed`).Scan(&top); err != nil {
		return nil, 0, false, fmt.Errorf("store: feed: %w", err)
	}
	if cursor <= 0 || cursor > top+1 {
		rows, err := s.r.QueryContext(ctx, `SELECT k.worker_id, k.kind, k.language, k.status, k.reason, k.qualified FROM worker_skills k
			JOIN users u ON u.id = k.worker_id WHERE u.org_id = ? ORDER BY k.worker_id, k.kind, k.language`, centerID)
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		snap, err := collect(rows, func(r scanner) (FeedEvent, error) {
			var f FeedSkill
			if err := r.Scan(&f.WorkerID, &f.Kind, &f.Language, &f.Status, &f.Reason, &f.Qualified); err != nil {
				return FeedEvent{}, err
			}
			b, err := json.Marshal(f)
			return FeedEvent{Kind: "skill", Body: b}, err
		})
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		rows, err = s.r.QueryContext(ctx, `SELECT p.id, p.name, p.instructions, p.min_answer_ms FROM projects p
			WHERE p.id IN (SELECT t.project_id FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.center_id = ? AND l.state = 'active')
			ORDER BY p.id`, centerID)
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		projects, err := collect(rows, func(r scanner) (FeedEvent, error) {
			var f FeedProject
			if err := r.Scan(&f.ID, &f.Name, &f.Instructions, &f.MinAnswerMS); err != nil {
				return FeedEvent{}, err
			}
			b, err := json.Marshal(f)
			return FeedEvent{Kind: "project", Body: b}, err
		})
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		snap = append(snap, projects...)
		rows, err = s.r.QueryContext(ctx, `SELECT id FROM courses ORDER BY id`)
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		courses, err := collect(rows, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
		}
		for _, id := range courses {
			ev, err := courseEvent(ctx, s.r, id)
			if err != nil {
				return nil, 0, false, fmt.Errorf("store: feed snapshot: %w", err)
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return nil, 0, false, err
			}
			snap = append(snap, FeedEvent{Kind: "course", Body: b})
		}
		return snap, top + 1, true, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, kind, body FROM feed WHERE center_id = ? AND seq >= ? ORDER BY seq LIMIT ?`,
		centerID, cursor, limit)
	if err != nil {
		return nil, 0, false, fmt.Errorf("store: feed: %w", err)
	}
	events, err = collect(rows, func(r scanner) (FeedEvent, error) {
		var e FeedEvent
		var body string
		err := r.Scan(&e.Seq, &e.Kind, &body)
		e.Body = json.RawMessage(body)
		return e, err
	})
	if err != nil {
		return nil, 0, false, err
	}
	next = top + 1
	if len(events) == limit {
		next = events[len(events)-1].Seq + 1
	}
	return events, next, false, nil
}

// ApplyFeed records, at a center, the skill changes the hub sent and the
// cursor to continue from, in one transaction. reset clears what the
// center knew first.
func (s *Store) ApplyFeed(ctx context.Context, events []FeedEvent, next int64, reset bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if reset {
			if _, err := tx.ExecContext(ctx, `DELETE FROM center_skills`); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := s.applyFeedEvent(ctx, tx, e); err != nil {
				return fmt.Errorf("feed event %d (%s): %w", e.Seq, e.Kind, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO center_meta (key, value) VALUES ('feed_cursor', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(next, 10))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: apply feed: %w", err)
	}
	return nil
}

func (s *Store) applyFeedEvent(ctx context.Context, tx *sql.Tx, e FeedEvent) error {
	switch e.Kind {
	case "skill":
		var f FeedSkill
		if err := json.Unmarshal(e.Body, &f); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO center_skills (worker_id, kind, language, status, reason, qualified) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (worker_id, kind, language) DO UPDATE SET status = excluded.status, reason = excluded.reason, qualified = excluded.qualified`,
			f.WorkerID, f.Kind, f.Language, f.Status, f.Reason, f.Qualified)
		return err
	case "project":
		var f FeedProject
		if err := json.Unmarshal(e.Body, &f); err != nil {
			return err
		}
		// A project the center has no task of yet arrives with its first
		// grant; only known ones are updated.
		_, err := tx.ExecContext(ctx, `UPDATE center_projects SET instructions = ?, min_answer_ms = ?, updated_at = ? WHERE id = ?`,
			f.Instructions, f.MinAnswerMS, ts(s.now()), f.ID)
		return err
	case "course":
		var f FeedCourse
		if err := json.Unmarshal(e.Body, &f); err != nil {
			return err
		}
		return applyCourse(ctx, tx, f)
	case "attempt":
		var a work.Attempt
		if err := json.Unmarshal(e.Body, &a); err != nil {
			return err
		}
		return applyAttempt(ctx, tx, a)
	case "wage":
		var f FeedWage
		if err := json.Unmarshal(e.Body, &f); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO center_wage (worker_id, below, hourly_rate, minimum, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (worker_id) DO UPDATE SET below = excluded.below, hourly_rate = excluded.hourly_rate,
				minimum = excluded.minimum, updated_at = excluded.updated_at`, f.WorkerID, boolInt(f.Below), f.HourlyRate, f.Minimum, ts(s.now()))
		return err
	case "recall":
		var f FeedRecall
		if err := json.Unmarshal(e.Body, &f); err != nil {
			return err
		}
		// No new work starts on a recalled lease. Work in a worker's hands
		// may still be saved, and goes up like any other answer.
		for _, id := range f.LeaseIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE center_grants SET state = 'gone' WHERE lease_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	}
	return nil // a kind this center does not know yet
}

// FeedCursor is where the center's feed continues from; 0 before the first
// read.
func (s *Store) FeedCursor(ctx context.Context) (int64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM center_meta WHERE key = 'feed_cursor'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: feed cursor: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// Suspend suspends a worker from a skill by hand, with the reason (hub
// staff acting on a complaint, say). A village center hears of it through
// its feed.
func (s *Store) Suspend(ctx context.Context, workerID, kind, language, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason, updated_at)
			VALUES (?, ?, ?, 3, 1, 0, 'suspended', ?, ?)
			ON CONFLICT (worker_id, kind, language) DO UPDATE SET status = 'suspended', reason = excluded.reason, updated_at = excluded.updated_at`,
			workerID, kind, language, reason, now); err != nil {
			return err
		}
		return s.feedSkill(ctx, tx, workerID, kind, language, SkillSuspended, reason, now)
	})
	if err != nil {
		return fmt.Errorf("store: suspend %s: %w", workerID, err)
	}
	return nil
}
