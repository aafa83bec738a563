-- The core work loop: organisations, people and their tokens, projects,
-- batches, tasks, assignments and results.
-- Times are UTC text in a fixed-width RFC 3339 form, so they sort as text.

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('hub', 'client', 'center')),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX orgs_kind_name ON orgs (kind, name);

-- The hub itself and its built-in center, where workers who talk to the hub
-- directly (remote workers, simulated workers) belong.
INSERT INTO orgs (id, kind, name, created_at) VALUES
    ('00000000-0000-7000-8000-000000000001', 'hub', 'hub', '2026-01-01T00:00:00.000000Z'),
    ('00000000-0000-7000-8000-000000000002', 'center', 'hub built-in center', '2026-01-01T00:00:00.000000Z');

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('hub_admin', 'ops', 'client_admin', 'client_viewer',
                                             'center_manager', 'reviewer', 'worker', 'center_node')),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_org_name ON users (org_id, name);

-- API tokens are stored as the SHA-256 of the secret; the secret is shown
-- once when the token is made. A token is bound to one org and one role.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE projects (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES orgs (id),
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('classify', 'extract', 'transcribe', 'respond')),
    schema             TEXT NOT NULL,
    instructions       TEXT NOT NULL,
    overlap            INTEGER NOT NULL CHECK (overlap >= 1),
    max_overlap        INTEGER NOT NULL CHECK (max_overlap >= overlap),
    assignment_seconds INTEGER NOT NULL CHECK (assignment_seconds >= 1),
    created_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX projects_client_name ON projects (client_id, name);

CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    client_id    TEXT NOT NULL REFERENCES orgs (id),
    name         TEXT NOT NULL,
    tasks        INTEGER NOT NULL,
    tasks_done   INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX batches_project ON batches (project_id, id);

-- answers counts submitted answers; holders counts live assignments; the
-- task is in the pool while answers + holders < wanted.
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id),
    batch_id    TEXT NOT NULL REFERENCES batches (id),
    external_id TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'in_progress', 'needs_review', 'done', 'failed')),
    answers     INTEGER NOT NULL DEFAULT 0,
    holders     INTEGER NOT NULL DEFAULT 0,
    wanted      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX tasks_batch ON tasks (batch_id, id);
CREATE INDEX tasks_pool ON tasks (id) WHERE state IN ('open', 'in_progress');
CREATE INDEX tasks_project_pool ON tasks (project_id, id) WHERE state IN ('open', 'in_progress');
CREATE INDEX tasks_project_state ON tasks (project_id, state, id);

CREATE TABLE assignments (
    id           TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES tasks (id),
    project_id   TEXT NOT NULL REFERENCES projects (id),
    worker_id    TEXT NOT NULL REFERENCES users (id),
    state        TEXT NOT NULL CHECK (state IN ('active', 'submitted', 'expired')),
    answer       TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    submitted_at TEXT,
    duration_ms  INTEGER
);
-- A worker never holds the same task twice.
CREATE UNIQUE INDEX assignments_task_worker ON assignments (task_id, worker_id);
CREATE INDEX assignments_expiry ON assignments (expires_at) WHERE state = 'active';
CREATE INDEX assignments_worker_active ON assignments (worker_id) WHERE state = 'active';

CREATE TABLE results (
    task_id     TEXT PRIMARY KEY REFERENCES tasks (id),
    project_id  TEXT NOT NULL REFERENCES projects (id),
    batch_id    TEXT NOT NULL REFERENCES batches (id),
    answer      TEXT NOT NULL,
    confidence  REAL NOT NULL,
    answers     INTEGER NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('agreement', 'review')),
    reviewer_id TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL
);
CREATE INDEX results_batch ON results (batch_id, task_id);
CREATE INDEX results_project ON results (project_id, task_id);
