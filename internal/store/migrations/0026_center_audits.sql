-- Blind audits done by a village center's reviewers. A task sampled at its
-- project's review rate whose answers came under a center's lease goes to
-- that center's reviewers when it has one (sent); their verdict settles it
-- as a hub reviewer's would (decided); with no verdict by due_at the hub
-- takes it back into its own review queue (recalled). At most one audit of
-- a task is out at a time.
CREATE TABLE center_audits (
    id          TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES tasks (id),
    center_id   TEXT NOT NULL REFERENCES orgs (id),
    state       TEXT NOT NULL CHECK (state IN ('sent', 'decided', 'recalled')),
    sent_at     TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    ended_at    TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    reviewer_id TEXT REFERENCES users (id),
    verdict_id  TEXT
);
CREATE UNIQUE INDEX center_audits_out ON center_audits (task_id) WHERE state = 'sent';
CREATE INDEX center_audits_due ON center_audits (due_at) WHERE state = 'sent';

-- At a center: the audits the hub sent, as its reviewers see them (the
-- item, never the answers). local_deadline is the center's own clock at
-- receipt plus the time the hub gave; task_key is the grant's, so the
-- center can tell which of its workers answered the task.
CREATE TABLE center_audit_tasks (
    id             TEXT PRIMARY KEY,
    task_key       TEXT NOT NULL,
    project_id     TEXT NOT NULL REFERENCES center_projects (id),
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('open', 'answered', 'recalled')),
    reason         TEXT NOT NULL DEFAULT '',
    local_deadline TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    reviewer_id    TEXT,
    verdict_id     TEXT
);
CREATE INDEX center_audit_tasks_open ON center_audit_tasks (received_at) WHERE state = 'open';
CREATE INDEX center_audit_tasks_task ON center_audit_tasks (task_key);

-- The center's people who answered an audited task, as the hub knows them:
-- none of them may audit it.
CREATE TABLE center_audit_exclusions (
    audit_id  TEXT NOT NULL REFERENCES center_audit_tasks (id),
    worker_id TEXT NOT NULL,
    PRIMARY KEY (audit_id, worker_id)
);
