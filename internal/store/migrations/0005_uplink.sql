-- Centers and the uplink. A lease is a center holding one task for hours
-- or days: it reserves `slots` answers of the task for the center's
-- workers. Every grant of a task increments the task's lease_epoch; an
-- answer that arrives under an older epoch is kept as superseded.

ALTER TABLE tasks ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;

CREATE TABLE leases (
    id         TEXT PRIMARY KEY,
    task_id    TEXT NOT NULL REFERENCES tasks (id),
    center_id  TEXT NOT NULL REFERENCES orgs (id),
    epoch      INTEGER NOT NULL,
    slots      INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL CHECK (state IN ('active', 'returned', 'expired', 'recalled')),
    granted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX leases_center ON leases (center_id, state);
CREATE INDEX leases_task ON leases (task_id) WHERE state = 'active';
CREATE INDEX leases_expiry ON leases (expires_at) WHERE state = 'active';

-- Every item a center uploads, by the id the center made for it, so a
-- replay is answered "duplicate" whatever its kind.
CREATE TABLE uplink_items (
    id          TEXT PRIMARY KEY,
    center_id   TEXT NOT NULL REFERENCES orgs (id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX uplink_items_center ON uplink_items (center_id, seq);

-- What the hub knows of each center's link.
CREATE TABLE center_links (
    center_id    TEXT PRIMARY KEY REFERENCES orgs (id),
    protocol     INTEGER NOT NULL,
    version      TEXT NOT NULL,
    last_contact TEXT NOT NULL,
    backlog      INTEGER NOT NULL DEFAULT 0
);
