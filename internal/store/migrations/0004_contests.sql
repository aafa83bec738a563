-- A worker may contest a gold task they believe was marked wrongly; a
-- reviewer's decision either keeps the gold answer or corrects it, and a
-- correction re-scores every answer the gold task was given.
CREATE TABLE contests (
    id            TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL UNIQUE REFERENCES assignments (id),
    task_id       TEXT NOT NULL REFERENCES tasks (id),
    project_id    TEXT NOT NULL REFERENCES projects (id),
    worker_id     TEXT NOT NULL REFERENCES users (id),
    reason        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'upheld', 'rejected')),
    decided_by    TEXT REFERENCES users (id),
    note          TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    decided_at    TEXT
);
CREATE INDEX contests_open ON contests (created_at) WHERE state = 'open';

-- What the last Dawid–Skene re-fit of a project said of a worker's skill:
-- the estimated accuracy and how many labels it rests on.
ALTER TABLE worker_skills ADD COLUMN ds_accuracy REAL;
ALTER TABLE worker_skills ADD COLUMN ds_labels INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN refitted_at TEXT;
