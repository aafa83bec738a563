-- The down feed: what a center must learn from the hub, in order. Today:
-- its workers' skill changes (suspensions, reinstatements,
-- qualifications), so a worker suspended on the hub stops getting that
-- skill's tasks at the center too.
CREATE TABLE feed (
    seq        INTEGER PRIMARY KEY,
    center_id  TEXT NOT NULL REFERENCES orgs (id),
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX feed_center ON feed (center_id, seq);

-- At the center: the skills the hub reports for its workers, and the feed
-- cursor.
CREATE TABLE center_skills (
    worker_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    language  TEXT NOT NULL,
    status    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (worker_id, kind, language)
);
CREATE TABLE center_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
