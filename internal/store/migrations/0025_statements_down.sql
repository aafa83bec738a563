-- A village center's workers see their earnings statements, which the hub
-- computes and sends down the center's feed.
--
-- On the hub: the statement last computed for each worker of a village
-- center, by its digest (an unchanged statement is not sent again), when
-- it was computed (one is sent at most once an interval), and from when
-- the worker's pay, answers and training are watched for a change (a
-- little before computed_at, for records stamped before it but committed
-- after).
CREATE TABLE statement_sends (
    worker_id   TEXT PRIMARY KEY,
    digest      TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    watch_from  TEXT NOT NULL
);

-- At a center: the statement the hub last sent of each worker, as sent,
-- and when the hub computed it, by the hub's clock.
CREATE TABLE center_statements (
    worker_id   TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    computed_at TEXT NOT NULL
);

-- A worker's pay and answers found by worker and time: the watch above,
-- and the statement itself, which reads one worker's 28 days.
CREATE INDEX money_events_worker ON money_events (worker_id, created_at) WHERE worker_id IS NOT NULL;
CREATE INDEX assignments_worker_submitted ON assignments (worker_id, submitted_at) WHERE state = 'submitted';
