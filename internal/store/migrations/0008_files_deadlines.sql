-- Attachments, deadlines and recalls.
--
-- A task may name files (scans, images, recordings) kept content-addressed
-- by SHA-256; blobs records each file the hub holds, task_files which of a
-- task's input fields names which file.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE task_files (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    field   TEXT NOT NULL,
    name    TEXT NOT NULL,
    sha256  TEXT NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (task_id, field)
);
CREATE INDEX task_files_sha256 ON task_files (sha256);

-- A batch may carry an SLA deadline; a lease carries it to the center, and
-- the hub recalls leases from silent centers as it nears. A cancelled
-- batch's unfinished tasks fail and its leases are recalled.
ALTER TABLE batches ADD COLUMN deadline TEXT;
ALTER TABLE batches ADD COLUMN cancelled_at TEXT;
ALTER TABLE leases ADD COLUMN recall_reason TEXT NOT NULL DEFAULT '';

-- At the center: the files each grant needs, and the files on disk. A task
-- is offered only once all its files are here.
CREATE TABLE center_files (
    lease_id   TEXT NOT NULL REFERENCES center_grants (lease_id),
    field      TEXT NOT NULL,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (lease_id, field)
);
CREATE INDEX center_files_sha256 ON center_files (sha256);
CREATE TABLE center_blobs (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    used_at    TEXT NOT NULL
);

-- The batch deadline as the center's own clock reads it (receipt time plus
-- what was left of it then): tasks due soonest are offered first.
ALTER TABLE center_grants ADD COLUMN due TEXT;
CREATE INDEX center_grants_offer ON center_grants ((due IS NULL), due, received_at, lease_id) WHERE state = 'active';
