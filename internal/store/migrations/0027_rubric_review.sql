-- A respond project's rubric (JSON; NULL for every project made before,
-- which keeps settling replies by agreement) and how many of each writer's
-- first replies all go to review.
ALTER TABLE projects ADD COLUMN rubric TEXT;
ALTER TABLE projects ADD COLUMN review_first INTEGER NOT NULL DEFAULT 0;

-- How many replies each writer has given in a project with a rubric,
-- counted as each arrives, so the hub knows at once whether a reply is
-- one of the writer's first.
CREATE TABLE writer_replies (
    project_id TEXT NOT NULL REFERENCES projects (id),
    worker_id  TEXT NOT NULL REFERENCES users (id),
    replies    INTEGER NOT NULL,
    PRIMARY KEY (project_id, worker_id)
);

-- A reviewer's scores of one reply on its project's rubric. reason is why
-- the reply was reviewed: 'new_writer' (one of the writer's first) or
-- 'sample' (drawn at the project's review rate). scores is a JSON object
-- of criterion name to score.
CREATE TABLE rubric_reviews (
    id            TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL UNIQUE REFERENCES assignments (id),
    task_id       TEXT NOT NULL REFERENCES tasks (id),
    project_id    TEXT NOT NULL REFERENCES projects (id),
    batch_id      TEXT NOT NULL REFERENCES batches (id),
    writer_id     TEXT NOT NULL REFERENCES users (id),
    reviewer_id   TEXT NOT NULL REFERENCES users (id),
    reason        TEXT NOT NULL CHECK (reason IN ('new_writer', 'sample')),
    scores        TEXT NOT NULL,
    passed        INTEGER NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);
CREATE INDEX rubric_reviews_batch ON rubric_reviews (batch_id);
CREATE INDEX rubric_reviews_task ON rubric_reviews (task_id, created_at);

-- At a village center: the note of the review that sent a leased task back
-- for another writer, shown to whoever takes it.
ALTER TABLE center_grants ADD COLUMN rework_note TEXT NOT NULL DEFAULT '';
