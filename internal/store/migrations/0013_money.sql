-- Money. Amounts are integers of the currency's minor unit (paise for
-- INR), never floats.
--
-- A project's rate card: what its client pays per delivered result, what a
-- worker earns per approved answer, and what a village center earns on top
-- for each approved answer given there; gold_bonus is paid on top for each
-- gold answer that is fully right. gst_bps is the GST rate on the
-- client's invoices in hundredths of a percent (1800 = 18 %). An answer
-- is approved approve_after_seconds after its task settles (0: at once),
-- unless rejected first; a rejection may be overturned for overturn_seconds.
CREATE TABLE rate_cards (
    project_id   TEXT PRIMARY KEY REFERENCES projects (id),
    currency     TEXT NOT NULL DEFAULT 'INR',
    client_price INTEGER NOT NULL CHECK (client_price >= 0),
    worker_pay   INTEGER NOT NULL CHECK (worker_pay >= 0),
    center_share INTEGER NOT NULL DEFAULT 0 CHECK (center_share >= 0),
    gst_bps      INTEGER NOT NULL DEFAULT 1800 CHECK (gst_bps >= 0),
    gold_bonus   INTEGER NOT NULL DEFAULT 0 CHECK (gold_bonus >= 0),
    approve_after_seconds INTEGER NOT NULL DEFAULT 0 CHECK (approve_after_seconds >= 0),
    overturn_seconds      INTEGER NOT NULL DEFAULT 604800 CHECK (overturn_seconds >= 0),
    updated_at   TEXT NOT NULL
);

-- An answer waiting for approval, or decided: pending until due_at, then
-- approved (and paid) unless rejected first. A rejection carries its
-- reason and may be overturned until overturn_until.
CREATE TABLE approvals (
    assignment_id  TEXT PRIMARY KEY,
    task_id        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    due_at         TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    decided_by     TEXT NOT NULL DEFAULT '',
    decided_at     TEXT,
    overturn_until TEXT
);
CREATE INDEX approvals_due ON approvals (due_at) WHERE state = 'pending';

-- A money-moving call's idempotency key and its reply: the same key sent
-- again gets the same reply and moves nothing.
CREATE TABLE idempotency (
    key        TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    route      TEXT NOT NULL,
    status     INTEGER NOT NULL,
    reply      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- What moves money, written in the same transaction as its cause (a result
-- delivered, an answer approved, a bonus given) with the rate card's
-- amounts of that moment. A bonus has no project; its ref is the
-- caller's idempotency key. (kind, ref) is unique, so nothing is charged or paid twice. The
-- ledger posts events in id order; posted_batch says into which batch.
CREATE TABLE money_events (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('delivery', 'credit', 'pay', 'bonus', 'training')),
    ref          TEXT NOT NULL,
    task_id      TEXT,
    project_id   TEXT REFERENCES projects (id),
    client_id    TEXT NOT NULL DEFAULT '',
    worker_id    TEXT,
    center_id    TEXT,
    currency     TEXT NOT NULL,
    client_price INTEGER NOT NULL DEFAULT 0,
    worker_pay   INTEGER NOT NULL DEFAULT 0,
    center_share INTEGER NOT NULL DEFAULT 0,
    gst_bps      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    posted_batch INTEGER
);
CREATE INDEX money_events_client ON money_events (client_id, created_at) WHERE kind = 'delivery';
CREATE UNIQUE INDEX money_events_ref ON money_events (kind, ref);
CREATE INDEX money_events_unposted ON money_events (id) WHERE posted_batch IS NULL;

-- A client's rejection of a delivered result: the result goes back for
-- rework and the client is credited what it was charged. n numbers the
-- task's rejections; the next delivery of the task is charged anew.
CREATE TABLE result_rejections (
    task_id     TEXT NOT NULL REFERENCES tasks (id),
    n           INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    rejected_by TEXT NOT NULL,
    answer      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (task_id, n)
);

-- The ledger: an append-only double-entry journal in numbered posting
-- batches. A batch's hash is the SHA-256 of the previous batch's hash and
-- its own entries, so editing, deleting or reordering anything breaks
-- every hash after it ('banyan ledger verify'). Nothing here is ever
-- updated; a correction is a new entry.
CREATE TABLE ledger_batches (
    seq        INTEGER PRIMARY KEY,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    entries    INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE ledger_entries (
    id         TEXT PRIMARY KEY,
    batch_seq  INTEGER NOT NULL REFERENCES ledger_batches (seq),
    account    TEXT NOT NULL CHECK (account IN ('client_receivable', 'worker_payable', 'center_share', 'hub_revenue')),
    party      TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ledger_entries_batch ON ledger_entries (batch_seq, id);
CREATE INDEX ledger_entries_party ON ledger_entries (account, party);
