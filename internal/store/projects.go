package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"banyan/internal/problem"
	"banyan/internal/work"
)

// CreateProject adds a project. The caller has validated it; the schema is
// stored as JSON.
func (s *Store) CreateProject(ctx context.Context, p work.Project) (work.Project, error) {
	schema, err := json.Marshal(p.Schema)
	if err != nil {
		return work.Project{}, fmt.Errorf("store: project schema: %w", err)
	}
	p.ID = work.NewID()
	p.CreatedAt = s.now()
	q := p.Quality
	_, err = s.w.ExecContext(ctx, `INSERT INTO projects (id, client_id, name, kind, schema, instructions,
			overlap, max_overlap, assignment_seconds, language, method, confidence_target, gold_ratio,
			min_accuracy, min_gold, min_answer_ms, review_rate, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.ClientID, p.Name, string(p.Kind), string(schema), p.Instructions,
		p.Overlap, p.MaxOverlap, p.AssignmentSeconds, q.Language, q.Method, q.ConfidenceTarget, q.GoldRatio,
		q.MinAccuracy, q.MinGold, q.MinAnswerMS, q.ReviewRate, ts(p.CreatedAt))
	if s.d.isUniqueViolation(err) {
		return work.Project{}, problem.Public(ErrConflict, "this client already has a project named %q", p.Name)
	}
	if err != nil {
		return work.Project{}, fmt.Errorf("store: create project: %w", err)
	}
	return p, nil
}

const projectCols = `id, client_id, name, kind, schema, instructions, overlap, max_overlap, assignment_seconds,
	language, method, confidence_target, gold_ratio, min_accuracy, min_gold, min_answer_ms, review_rate, created_at`

func scanProject(r scanner) (work.Project, error) {
	var p work.Project
	var kind, schema, created string
	q := &p.Quality
	if err := r.Scan(&p.ID, &p.ClientID, &p.Name, &kind, &schema, &p.Instructions,
		&p.Overlap, &p.MaxOverlap, &p.AssignmentSeconds,
		&q.Language, &q.Method, &q.ConfidenceTarget, &q.GoldRatio, &q.MinAccuracy, &q.MinGold, &q.MinAnswerMS, &q.ReviewRate,
		&created); err != nil {
		return work.Project{}, err
	}
	p.Kind = work.Kind(kind)
	p.CreatedAt = parseTS(created)
	sc, err := work.DecodeSchema(p.Kind, []byte(schema))
	if err != nil {
		return work.Project{}, fmt.Errorf("stored schema of project %s: %w", p.ID, err)
	}
	p.Schema = sc
	return p, nil
}

// Project returns one project.
//
// Every worker request reads its project, and projects change seldom, so a
// read is kept for projectTTL: a change made through this process is seen
// at once, one made through another hub on the same database within
// projectTTL.
func (s *Store) Project(ctx context.Context, id string) (work.Project, error) {
	if v, ok := s.projects.Load(id); ok {
		if c := v.(cachedProject); time.Now().Before(c.until) {
			return c.p, nil
		}
	}
	p, err := scanProject(s.reader(ctx).QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if err == nil {
		s.projects.Store(id, cachedProject{p: p, until: time.Now().Add(projectTTL)})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return work.Project{}, fmt.Errorf("store: project %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return work.Project{}, fmt.Errorf("store: project %s: %w", id, err)
	}
	return p, nil
}

// Projects lists projects by id; clientID "" lists every client's.
func (s *Store) Projects(ctx context.Context, clientID string, p Page) ([]work.Project, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects
		WHERE (? = '' OR client_id = ?) AND id > ? ORDER BY id LIMIT ?`, clientID, clientID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", err)
	}
	return collect(rows, scanProject)
}

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

// TaskFile is one attachment of a task: the input field that names it,
// the name it had in the upload, and the stored file.
type TaskFile struct {
	Field     string `json:"field"`
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
}

// BatchSpec is what a new batch is besides its tasks.
type BatchSpec struct {
	Name    string
	Purpose string // work.PurposeWork or work.PurposeGold
	// Deadline is the client's SLA deadline, if any: leases carry it to
	// centers, and the hub recalls leases from silent centers as it nears.
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
func (s *Store) CreateBatch(ctx context.Context, p work.Project, spec BatchSpec, tasks iter.Seq2[NewTask, error]) (work.Batch, error) {
	b := work.Batch{ID: work.NewID(), Purpose: spec.Purpose, ProjectID: p.ID, ClientID: p.ClientID, Name: spec.Name, CreatedAt: s.now(),
		Deadline: spec.Deadline}
	now := ts(b.CreatedAt)
	gold, wanted := 0, p.Overlap
	if spec.Purpose == work.PurposeGold {
		gold, wanted = 1, goldWanted
	}
	var deadline sql.NullString
	if spec.Deadline != nil {
		deadline = sql.NullString{String: ts(*spec.Deadline), Valid: true}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, purpose, project_id, client_id, name, tasks, created_at, deadline)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, b.ID, spec.Purpose, b.ProjectID, b.ClientID, b.Name, now, deadline); err != nil {
			return err
		}
		var chunk taskChunk
		chunk.fixed = [...]any{p.ID, b.ID, string(work.TaskOpen), wanted, gold, now}
		var golds []any
		type fileRow struct {
			task string
			f    TaskFile
		}
		var files []fileRow
		flush := func() error {
			if len(chunk.ids) == 0 {
				return nil
			}
			q, args := s.d.insertTasks(&chunk)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			chunk.reset()
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
			chunk.add(id, t.ExternalID, string(t.Payload))
			if t.Gold != nil {
				golds = append(golds, id, string(t.Gold), now)
			}
			for _, f := range t.Files {
				files = append(files, fileRow{id, f})
			}
			b.Tasks++
			if len(chunk.ids) == insertChunk {
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
		_, err := tx.ExecContext(ctx, `UPDATE batches SET tasks = ? WHERE id = ?`, b.Tasks, b.ID)
		return err
	})
	if err != nil {
		return work.Batch{}, fmt.Errorf("store: create batch: %w", err)
	}
	return b, nil
}

// batchCols counts a batch's final tasks as it reads the batch (see
// migration 0010).
const batchCols = `id, purpose, project_id, client_id, name, tasks,
	(SELECT count(*) FROM tasks t WHERE t.batch_id = batches.id AND t.state IN ('done', 'failed')),
	created_at, completed_at, deadline, cancelled_at`

func scanBatch(r scanner) (work.Batch, error) {
	var b work.Batch
	var created string
	var completed, deadline, cancelled sql.NullString
	err := r.Scan(&b.ID, &b.Purpose, &b.ProjectID, &b.ClientID, &b.Name, &b.Tasks, &b.TasksDone, &created, &completed, &deadline, &cancelled)
	b.CreatedAt = parseTS(created)
	b.CompletedAt = parseNullTS(completed)
	b.Deadline = parseNullTS(deadline)
	b.CancelledAt = parseNullTS(cancelled)
	return b, err
}

// Batch returns one batch.
func (s *Store) Batch(ctx context.Context, id string) (work.Batch, error) {
	b, err := scanBatch(s.r.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Batch{}, fmt.Errorf("store: batch %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return work.Batch{}, fmt.Errorf("store: batch %s: %w", id, err)
	}
	return b, nil
}

// completeIfDone stamps a batch complete, in the transaction that made
// its last task final (settled, or failed by a cancellation), and tells
// the client's webhooks. A batch with a task still open is left alone.
//
// SQLite has one writer, so there the check is exact. On PostgreSQL two
// transactions settling a batch's last two tasks side by side each see the
// other's task still open (READ COMMITTED), and neither stamps; making
// every settle wait on the batch's row to rule that out is what migration
// 0010 removed. The completion sweep (CheckCompletions, every two seconds
// on the hub) stamps such a batch, dated by its last task's settling.
func (s *Store) completeIfDone(ctx context.Context, tx *sql.Tx, batchID, now string) error {
	var open int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tasks WHERE batch_id = ? AND state NOT IN ('done', 'failed') LIMIT 1`, batchID).Scan(&open)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return s.stamp(ctx, tx, batchID, now)
}

// CheckCompletions stamps complete every batch whose tasks are all final
// but which is not stamped yet — one completed before the stamp was made
// where the last task settles, or on a path that missed it — dated by its
// last task's settling, and tells the client's webhooks. It looks at every
// such batch however many are open, in one statement on the index of open
// tasks.
func (s *Store) CheckCompletions(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT b.id FROM batches b WHERE b.completed_at IS NULL AND b.tasks > 0
		AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.batch_id = b.id AND t.state NOT IN ('done', 'failed'))
		ORDER BY b.id`)
	if err != nil {
		return fmt.Errorf("store: check completions: %w", err)
	}
	ids, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("store: check completions: %w", err)
	}
	for _, id := range ids {
		err := s.tx(ctx, func(tx *sql.Tx) error { return s.stampIfDone(ctx, tx, id) })
		if err != nil {
			return fmt.Errorf("store: complete batch %s: %w", id, err)
		}
	}
	return nil
}

// stampIfDone is completeIfDone after the fact: dated by the batch's last
// task's settling.
func (s *Store) stampIfDone(ctx context.Context, tx *sql.Tx, batchID string) error {
	var open int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tasks WHERE batch_id = ? AND state NOT IN ('done', 'failed') LIMIT 1`, batchID).Scan(&open)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT max(updated_at) FROM tasks WHERE batch_id = ?`, batchID).Scan(&last); err != nil {
		return err
	}
	return s.stamp(ctx, tx, batchID, last)
}

// stamp marks a batch complete at when, once, and tells the client's
// webhooks.
func (s *Store) stamp(ctx context.Context, tx *sql.Tx, batchID, when string) error {
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
	return s.notify(ctx, tx, event, func() (string, any, bool, error) {
		return b.ClientID, map[string]any{"event": event, "batch_id": b.ID, "project_id": b.ProjectID, "tasks": b.Tasks,
			"completed_at": when}, true, nil
	})
}

// Batches lists a project's batches by id.
func (s *Store) Batches(ctx context.Context, projectID string, p Page) ([]work.Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+batchCols+` FROM batches
		WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?`, projectID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list batches: %w", err)
	}
	bs, err := collect(rows, scanBatch)
	if err != nil {
		return nil, fmt.Errorf("store: list batches: %w", err)
	}
	return bs, nil
}

// StateCounts counts a batch's tasks in each state.
func (s *Store) StateCounts(ctx context.Context, batchID string) (map[work.TaskState]int, int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, count(*), coalesce(sum(answers), 0) FROM tasks WHERE batch_id = ? GROUP BY state`, batchID)
	if err != nil {
		return nil, 0, fmt.Errorf("store: batch progress: %w", err)
	}
	defer rows.Close()
	out := map[work.TaskState]int{}
	answers := 0
	for rows.Next() {
		var st string
		var n, a int
		if err := rows.Scan(&st, &n, &a); err != nil {
			return nil, 0, err
		}
		out[work.TaskState(st)] = n
		answers += a
	}
	return out, answers, rows.Err()
}

const taskCols = `id, project_id, batch_id, external_id, payload, state, answers, wanted, review_reason, created_at, updated_at`

func scanTask(r scanner) (work.Task, error) {
	var t work.Task
	var payload, state, created, updated string
	var reason sql.NullString
	err := r.Scan(&t.ID, &t.ProjectID, &t.BatchID, &t.ExternalID, &payload, &state, &t.Answers, &t.Wanted, &reason, &created, &updated)
	t.ReviewReason = reason.String
	t.Payload = json.RawMessage(payload)
	t.State = work.TaskState(state)
	t.CreatedAt = parseTS(created)
	t.UpdatedAt = parseTS(updated)
	return t, err
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id string) (work.Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return work.Task{}, fmt.Errorf("store: task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return work.Task{}, fmt.Errorf("store: task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists a batch's tasks by id; state "" means any state.
func (s *Store) Tasks(ctx context.Context, batchID string, state work.TaskState, p Page) ([]work.Task, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks
		WHERE batch_id = ? AND (? = '' OR state = ?) AND id > ? ORDER BY id LIMIT ?`,
		batchID, string(state), string(state), p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	return collect(rows, scanTask)
}

// ProjectTasks lists a project's tasks in one state, by id.
func (s *Store) ProjectTasks(ctx context.Context, projectID string, state work.TaskState, p Page) ([]work.Task, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks
		WHERE project_id = ? AND state = ? AND id > ? ORDER BY id LIMIT ?`,
		projectID, string(state), p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	return collect(rows, scanTask)
}

// projectTTL is how long a project read is reused.
const projectTTL = 2 * time.Second

type cachedProject struct {
	p     work.Project
	until time.Time
}
