-- Training and qualification. A course is an ordered set of items with
-- known answers for one kind of task in one language. A training course
-- shows the answer and an explanation after each item; a qualification
-- course is a test that grants the skill at its pass mark.

CREATE TABLE courses (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    purpose          TEXT NOT NULL CHECK (purpose IN ('training', 'qualification')),
    kind             TEXT NOT NULL CHECK (kind IN ('classify', 'extract', 'transcribe', 'respond')),
    language         TEXT NOT NULL,
    schema           TEXT NOT NULL,
    instructions     TEXT NOT NULL,
    pass_mark        REAL NOT NULL,
    cooldown_seconds INTEGER NOT NULL,
    items            INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX courses_name ON courses (name);
-- One qualification per skill, so "qualified" has one meaning.
CREATE UNIQUE INDEX courses_qualification ON courses (kind, language) WHERE purpose = 'qualification';

CREATE TABLE course_items (
    id          TEXT PRIMARY KEY,
    course_id   TEXT NOT NULL REFERENCES courses (id),
    seq         INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    answer      TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE UNIQUE INDEX course_items_seq ON course_items (course_id, seq);

CREATE TABLE attempts (
    id          TEXT PRIMARY KEY,
    course_id   TEXT NOT NULL REFERENCES courses (id),
    worker_id   TEXT NOT NULL REFERENCES users (id),
    answered    INTEGER NOT NULL DEFAULT 0,
    score       REAL NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('open', 'done', 'passed', 'failed')),
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX attempts_worker ON attempts (worker_id, course_id, created_at);

CREATE TABLE attempt_answers (
    attempt_id TEXT NOT NULL REFERENCES attempts (id),
    item_id    TEXT NOT NULL REFERENCES course_items (id),
    answer     TEXT NOT NULL,
    score      REAL NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (attempt_id, item_id)
);

ALTER TABLE worker_skills ADD COLUMN qualified INTEGER NOT NULL DEFAULT 0;
