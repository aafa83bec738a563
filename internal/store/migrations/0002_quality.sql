-- Quality: gold tasks, worker skills, the fast-answer guard, confidence
-- targets, review sampling and the audit trail the quality report reads.

ALTER TABLE projects ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
-- method: 'mv' settles by strict majority; 'ds' weighs each answer by the
-- worker's estimated accuracy and settles at confidence_target.
ALTER TABLE projects ADD COLUMN method TEXT NOT NULL DEFAULT 'mv';
ALTER TABLE projects ADD COLUMN confidence_target REAL NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN gold_ratio REAL NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN min_accuracy REAL NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN min_gold INTEGER NOT NULL DEFAULT 5;
ALTER TABLE projects ADD COLUMN min_answer_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN review_rate REAL NOT NULL DEFAULT 0;

-- A batch is client work or a gold set (tasks with known answers).
ALTER TABLE batches ADD COLUMN purpose TEXT NOT NULL DEFAULT 'work';

-- gold marks a task whose answer is known; the answer itself is in the
-- gold table, which never leaves the hub.
ALTER TABLE tasks ADD COLUMN gold INTEGER NOT NULL DEFAULT 0;
DROP INDEX tasks_pool;
DROP INDEX tasks_project_pool;
CREATE INDEX tasks_pool ON tasks (id) WHERE state IN ('open', 'in_progress') AND gold = 0;
CREATE INDEX tasks_project_pool ON tasks (project_id, id) WHERE state IN ('open', 'in_progress') AND gold = 0;
CREATE INDEX tasks_gold ON tasks (project_id) WHERE gold = 1;

CREATE TABLE gold (
    task_id    TEXT PRIMARY KEY REFERENCES tasks (id),
    answer     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- flag says why a submitted answer does not count ('too_fast'); score is
-- the share of a gold task's answer that was right.
ALTER TABLE assignments ADD COLUMN flag TEXT;
ALTER TABLE assignments ADD COLUMN score REAL;

-- A worker's skill at one kind of task in one language: a Beta posterior of
-- their accuracy, fed by gold answers and review verdicts.
CREATE TABLE worker_skills (
    worker_id  TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    language   TEXT NOT NULL,
    alpha      REAL NOT NULL,
    beta       REAL NOT NULL,
    scored     INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    reason     TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (worker_id, kind, language)
);

-- Why a task went to review, and what the workers' answers would have made
-- of it (proposed), so a reviewer's verdict on a random sample measures the
-- accuracy of delivered results without bias.
ALTER TABLE tasks ADD COLUMN review_reason TEXT;
ALTER TABLE tasks ADD COLUMN proposed TEXT;

CREATE TABLE audits (
    task_id     TEXT PRIMARY KEY REFERENCES tasks (id),
    project_id  TEXT NOT NULL REFERENCES projects (id),
    batch_id    TEXT NOT NULL REFERENCES batches (id),
    reason      TEXT NOT NULL,
    agreed      INTEGER NOT NULL,
    reviewer_id TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL
);
CREATE INDEX audits_batch ON audits (batch_id);
