package project

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"banyan/internal/store"
	"banyan/internal/work"
)

// NewTask is one task of a batch being created.
type NewTask struct {
	ExternalID string
	Payload    []byte // a JSON object
	// Gold is the known answer (canonical JSON) of a gold task; it must be
	// set for every task of a gold batch and for no other.
	Gold []byte
	// Files are the attachments the task's input fields name, each already
	// in the hub's blob store.
	Files []TaskFile
}

// BatchSpec is what a new batch is besides its tasks.
type BatchSpec struct {
	Name    string
	Purpose string // work.PurposeWork or work.PurposeGold
	// Deadline is the client's SLA deadline, if any: it dates the batch's
	// tasks in the order work is handed out (see DueRule), leases carry it
	// to centers, and the hub recalls leases from silent centers as it
	// nears.
	Deadline *time.Time
}

// goldWanted is how many answers a gold task may take: it is reused for
// every worker until the client replaces it.
const goldWanted = 1 << 30

// insertChunk is how many task rows go into one INSERT statement.
const insertChunk = 200

// CreateBatch stores a batch and all its tasks in one transaction, reading
// the tasks from tasks. If tasks yields an error, or anything fails, nothing
// of the batch is kept.
func CreateBatch(ctx context.Context, st *store.Store, p work.Project, spec BatchSpec, tasks iter.Seq2[NewTask, error]) (work.Batch, error) {
	b := work.Batch{ID: work.NewID(), Purpose: spec.Purpose, ProjectID: p.ID, ClientID: p.ClientID, Name: spec.Name, CreatedAt: st.Now(),
		Deadline: spec.Deadline}
	now := store.TimeText(b.CreatedAt)
	gold, wanted := 0, p.Overlap
	if spec.Purpose == work.PurposeGold {
		gold, wanted = 1, goldWanted
	}
	var deadline sql.NullString
	if spec.Deadline != nil {
		deadline = sql.NullString{String: store.TimeText(*spec.Deadline), Valid: true}
	}
	err := st.Write(ctx, func(tx *store.Tx) error {
		rule, priority, err := dueOf(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		due := rule.Due(b.CreatedAt, spec.Deadline, priority).Unix()
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, purpose, project_id, client_id, name, tasks, created_at, deadline, due)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`, b.ID, spec.Purpose, b.ProjectID, b.ClientID, b.Name, now, deadline, due); err != nil {
			return err
		}
		var ids, externalIDs, payloads []string
		var golds []any
		type fileRow struct {
			task string
			f    TaskFile
		}
		var files []fileRow
		flush := func() error {
			if len(ids) == 0 {
				return nil
			}
			if err := tx.InsertRows(ctx, `INSERT INTO tasks (id, project_id, batch_id, external_id, payload, state, wanted, gold, created_at, updated_at, due) `,
				len(ids), ids, p.ID, b.ID, externalIDs, payloads, string(work.TaskOpen), wanted, gold, now, now, due); err != nil {
				return err
			}
			ids, externalIDs, payloads = ids[:0], externalIDs[:0], payloads[:0]
			if len(golds) > 0 {
				q := `INSERT INTO gold (task_id, answer, created_at) VALUES ` +
					strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(golds)/3), ",")
				if _, err := tx.ExecContext(ctx, q, golds...); err != nil {
					return err
				}
				golds = golds[:0]
			}
			for _, r := range files {
				if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (sha256, size, media_type, created_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (sha256) DO NOTHING`, r.f.SHA256, r.f.Size, r.f.MediaType, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO task_files (task_id, field, name, sha256) VALUES (?, ?, ?, ?)`,
					r.task, r.f.Field, r.f.Name, r.f.SHA256); err != nil {
					return err
				}
			}
			files = files[:0]
			return nil
		}
		for t, err := range tasks {
			if err != nil {
				return err
			}
			if (gold == 1) != (t.Gold != nil) {
				return fmt.Errorf("task %d: a gold batch needs a known answer on every task, and only a gold batch may have one", b.Tasks+1)
			}
			id := work.NewID()
			ids, externalIDs, payloads = append(ids, id), append(externalIDs, t.ExternalID), append(payloads, string(t.Payload))
			if t.Gold != nil {
				golds = append(golds, id, string(t.Gold), now)
			}
			for _, f := range t.Files {
				files = append(files, fileRow{id, f})
			}
			b.Tasks++
			if len(ids) == insertChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if b.Tasks == 0 {
			return fmt.Errorf("the batch has no tasks")
		}
		_, err = tx.ExecContext(ctx, `UPDATE batches SET tasks = ? WHERE id = ?`, b.Tasks, b.ID)
		return err
	})
	if err != nil {
		return work.Batch{}, fmt.Errorf("project: create batch: %w", err)
	}
	return b, nil
}

// BatchColumns are the columns ScanBatch reads, in its order, from the
// batches table. They count a batch's final tasks as they read it (see
// migration 0010).
const BatchColumns = `id, purpose, project_id, client_id, name, tasks,
	(SELECT count(*) FROM tasks t WHERE t.batch_id = batches.id AND t.state IN ('done', 'failed')),
	created_at, completed_at, deadline, cancelled_at`

// ScanBatch reads one batch selected with BatchColumns.
func ScanBatch(r store.Scanner) (work.Batch, error) {
	var b work.Batch
	var created string
	var completed, deadline, cancelled sql.NullString
	err := r.Scan(&b.ID, &b.Purpose, &b.ProjectID, &b.ClientID, &b.Name, &b.Tasks, &b.TasksDone, &created, &completed, &deadline, &cancelled)
	b.CreatedAt = store.ParseTimeText(created)
	b.CompletedAt = store.ParseNullTimeText(completed)
	b.Deadline = store.ParseNullTimeText(deadline)
	b.CancelledAt = store.ParseNullTimeText(cancelled)
	return b, err
}

// Batch returns one batch.
func Batch(ctx context.Context, st *store.Store, id string) (work.Batch, error) {
	b, err := ScanBatch(st.Read(ctx).QueryRowContext(ctx, `SELECT `+BatchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Batch{}, fmt.Errorf("project: batch %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return work.Batch{}, fmt.Errorf("project: batch %s: %w", id, err)
	}
	return b, nil
}

// Batches lists a project's batches by id.
func Batches(ctx context.Context, st *store.Store, projectID string, p store.Page) ([]work.Batch, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT `+BatchColumns+` FROM batches
		WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?`, projectID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("project: list batches: %w", err)
	}
	bs, err := store.Collect(rows, ScanBatch)
	if err != nil {
		return nil, fmt.Errorf("project: list batches: %w", err)
	}
	return bs, nil
}

// StateCounts counts a batch's tasks in each state, and their answers.
func StateCounts(ctx context.Context, st *store.Store, batchID string) (map[work.TaskState]int, int, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT state, count(*), coalesce(sum(answers), 0) FROM tasks WHERE batch_id = ? GROUP BY state`, batchID)
	if err != nil {
		return nil, 0, fmt.Errorf("project: batch progress: %w", err)
	}
	out := map[work.TaskState]int{}
	answers := 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var state string
		var n, a int
		if err := r.Scan(&state, &n, &a); err != nil {
			return err
		}
		out[work.TaskState(state)] = n
		answers += a
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("project: batch progress: %w", err)
	}
	return out, answers, nil
}

// CompleteIfDone stamps a batch complete, in the transaction that made
// its last task final (settled, or failed by a cancellation), and tells
// the client's webhooks. A batch with a task still open is left alone.
//
// SQLite has one writer, so there the check is exact. On PostgreSQL two
// transactions settling a batch's last two tasks side by side each see the
// other's task still open (READ COMMITTED), and neither stamps; making
// every settle wait on the batch's row to rule that out is what migration
// 0010 removed. The completion sweep (CheckCompletions, every two seconds
// on the hub) stamps such a batch, dated by its last task's settling.
func CompleteIfDone(ctx context.Context, st *store.Store, tx *store.Tx, batchID, now string) error {
	var open int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tasks WHERE batch_id = ? AND state NOT IN ('done', 'failed') LIMIT 1`, batchID).Scan(&open)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return stamp(ctx, st, tx, batchID, now)
}

// CheckCompletions stamps complete every batch whose tasks are all final
// but which is not stamped yet — one completed before the stamp was made
// where the last task settles, or on a path that missed it — dated by its
// last task's settling, and tells the client's webhooks. It looks at every
// such batch however many are open, in one statement on the index of open
// tasks.
func CheckCompletions(ctx context.Context, st *store.Store) error {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT b.id FROM batches b WHERE b.completed_at IS NULL AND b.tasks > 0
		AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.batch_id = b.id AND t.state NOT IN ('done', 'failed'))
		ORDER BY b.id`)
	if err != nil {
		return fmt.Errorf("project: check completions: %w", err)
	}
	ids, err := store.Collect(rows, func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("project: check completions: %w", err)
	}
	for _, id := range ids {
		err := st.Write(ctx, func(tx *store.Tx) error { return stampIfDone(ctx, st, tx, id) })
		if err != nil {
			return fmt.Errorf("project: complete batch %s: %w", id, err)
		}
	}
	return nil
}

// stampIfDone is CompleteIfDone after the fact: dated by the batch's last
// task's settling.
func stampIfDone(ctx context.Context, st *store.Store, tx *store.Tx, batchID string) error {
	var open int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tasks WHERE batch_id = ? AND state NOT IN ('done', 'failed') LIMIT 1`, batchID).Scan(&open)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT max(updated_at) FROM tasks WHERE batch_id = ?`, batchID).Scan(&last); err != nil {
		return err
	}
	return stamp(ctx, st, tx, batchID, last)
}

// stamp marks a batch complete at when, once, and tells the client's
// webhooks.
func stamp(ctx context.Context, st *store.Store, tx *store.Tx, batchID, when string) error {
	var b work.Batch
	err := tx.QueryRowContext(ctx, `UPDATE batches SET completed_at = ? WHERE id = ? AND completed_at IS NULL
		RETURNING id, project_id, client_id, tasks`, when, batchID).Scan(&b.ID, &b.ProjectID, &b.ClientID, &b.Tasks)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // stamped already
	}
	if err != nil {
		return err
	}
	const event = "batch.completed"
	return st.Notify(ctx, tx, event, func() (string, any, bool, error) {
		return b.ClientID, map[string]any{"event": event, "batch_id": b.ID, "project_id": b.ProjectID, "tasks": b.Tasks,
			"completed_at": when}, true, nil
	})
}
