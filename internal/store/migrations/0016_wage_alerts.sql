-- The minimum-wage warning reaches a worker's village center. On the hub:
-- the last word sent about each worker (under the minimum or not), so a
-- center hears only of changes. At a center: what the hub last said.
CREATE TABLE wage_alerts (
    worker_id   TEXT PRIMARY KEY,
    below       INTEGER NOT NULL,
    hourly_rate INTEGER NOT NULL,
    minimum     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE center_wage (
    worker_id   TEXT PRIMARY KEY,
    below       INTEGER NOT NULL,
    hourly_rate INTEGER NOT NULL,
    minimum     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
