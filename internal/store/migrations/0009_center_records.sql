-- Records born where workers are (a village center or the hub's own desk)
-- besides answers: active time, self-declarations, reviews of answers and
-- audit events. Each keeps the id it was given where it was born; at a
-- center it is written with its outbox row in one transaction, and on the
-- hub it is stored once by that id.

-- Spans of active work, as the worker's desk reported them.
CREATE TABLE activity (
    id         TEXT PRIMARY KEY,
    worker_id  TEXT NOT NULL REFERENCES users (id),
    started_at TEXT NOT NULL,
    active_ms  INTEGER NOT NULL,
    what       TEXT NOT NULL CHECK (what IN ('tasks', 'training')),
    created_at TEXT NOT NULL
);
CREATE INDEX activity_worker ON activity (worker_id, started_at);

-- What a worker chose to declare about themselves, for the impact report.
-- Every declaration is kept; the latest is the one that counts.
CREATE TABLE declarations (
    id          TEXT PRIMARY KEY,
    worker_id   TEXT NOT NULL REFERENCES users (id),
    body        TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX declarations_worker ON declarations (worker_id, declared_at);

-- A reviewer's check of one answer (maker-checker). assignment_id is the
-- answer's id: at a center it names center work, on the hub the
-- assignment the center's answer became.
CREATE TABLE answer_reviews (
    id            TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL,
    reviewer_id   TEXT NOT NULL REFERENCES users (id),
    verdict       TEXT NOT NULL CHECK (verdict IN ('agree', 'disagree')),
    answer        TEXT,
    note          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX answer_reviews_once ON answer_reviews (assignment_id, reviewer_id);

-- Who did what to whom: enrolments, tokens, reviews, recalls.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at         TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, at);

-- At a center: whether the hub has the worker qualified for a skill, so a
-- skill with a qualification is offered only to those who passed it.
ALTER TABLE center_skills ADD COLUMN qualified INTEGER NOT NULL DEFAULT 0;
