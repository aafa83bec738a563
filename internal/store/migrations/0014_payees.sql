-- Where a worker (or a village center) is paid: a UPI address, for the
-- payout files a bank or UPI bulk upload takes. Set by the hub's staff or
-- the person's center manager.
CREATE TABLE payees (
    party_id   TEXT PRIMARY KEY,
    upi_id     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
