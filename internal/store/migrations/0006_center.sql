-- Center mode. A center keeps the tasks it leased, its workers' work on
-- them, and an outbox of every record born here, in its own SQLite file.
-- (A hub has these tables too, empty; one binary, one schema.)

CREATE TABLE center_projects (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    language      TEXT NOT NULL,
    instructions  TEXT NOT NULL,
    schema        TEXT NOT NULL,
    min_answer_ms INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);

-- A leased task. local_deadline is the center's own clock at receipt plus
-- the lease's TTL: past it the center starts no new work on the task.
-- task_key names the task for this center only (a hash of the task and
-- center ids): stable across leases, so no worker gets the same task twice,
-- yet it dates nothing and is no use to another center.
CREATE TABLE center_grants (
    lease_id       TEXT PRIMARY KEY,
    task_key       TEXT NOT NULL,
    project_id     TEXT NOT NULL REFERENCES center_projects (id),
    epoch          INTEGER NOT NULL,
    slots          INTEGER NOT NULL,
    given          INTEGER NOT NULL DEFAULT 0,
    holders        INTEGER NOT NULL DEFAULT 0,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('active', 'gone')),
    local_deadline TEXT NOT NULL,
    received_at    TEXT NOT NULL
);
CREATE INDEX center_grants_open ON center_grants (received_at) WHERE state = 'active';
CREATE INDEX center_grants_task ON center_grants (task_key);

-- Workers of this center who answered a leased task before, under an
-- earlier lease: the task must not be offered to them again.
CREATE TABLE center_grant_exclusions (
    lease_id  TEXT NOT NULL REFERENCES center_grants (lease_id),
    worker_id TEXT NOT NULL,
    PRIMARY KEY (lease_id, worker_id)
);

CREATE TABLE center_work (
    id          TEXT PRIMARY KEY,
    lease_id    TEXT NOT NULL REFERENCES center_grants (lease_id),
    worker_id   TEXT NOT NULL REFERENCES users (id),
    state       TEXT NOT NULL CHECK (state IN ('active', 'saved', 'expired')),
    answer      TEXT,
    duration_ms INTEGER,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    saved_at    TEXT
);
CREATE UNIQUE INDEX center_work_lease_worker ON center_work (lease_id, worker_id);
CREATE INDEX center_work_active ON center_work (expires_at) WHERE state = 'active';

-- Every record born at the center, in order; a row is acknowledged only
-- once the hub has answered for it.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at   TEXT,
    status     TEXT,
    reason     TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE acked_at IS NULL;
