-- A worker's time in a course, as the server that served it saw it: from
-- the first request to the last (closed_at when the attempt finished; an
-- open session ends work.SessionIdle after last_seen_at). Declared training
-- time must lie within one. credited_to is how far the server's own desk
-- has counted the session as training time. A village center records its
-- own and sends them up before the spans they hold.
CREATE TABLE course_sessions (
    id           TEXT PRIMARY KEY,
    worker_id    TEXT NOT NULL REFERENCES users (id),
    course_id    TEXT NOT NULL REFERENCES courses (id),
    started_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    closed_at    TEXT,
    credited_to  TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX course_sessions_worker ON course_sessions (worker_id, course_id, last_seen_at);

-- The course session an accepted training span lies in.
ALTER TABLE activity ADD COLUMN session_id TEXT;

-- Spans keep their start in the fixed-width time text of every other
-- table, so one comparison orders them all; earlier spans were kept as
-- the device sent them.
UPDATE activity SET started_at = substr(started_at, 1, 19) || '.000000Z'
WHERE length(started_at) = 20 AND substr(started_at, 20, 1) = 'Z';
