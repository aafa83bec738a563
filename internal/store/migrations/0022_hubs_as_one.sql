-- Sign-in tries, kept in the database so that several hubs on one database
-- count them together: a PIN gets five tries per window in all, not five
-- per hub. A try is written before its secret is checked (so tries sent
-- all at once are counted too) and deleted if it succeeds; what stays is
-- the failures. key is a SHA-256 of what is counted (a login, an address),
-- so neither rests here in plain; attempt ties the rows of one try; rows
-- older than the window are deleted as new ones come.
CREATE TABLE signin_failures (
    key     TEXT NOT NULL,
    at      TEXT NOT NULL,
    attempt TEXT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (key, at);
CREATE INDEX signin_failures_at ON signin_failures (at);

-- Each hub process says it is alive every few seconds; a hub divides the
-- per-token rate limit by the number alive, so a token calling every hub
-- gets the configured rate in all.
CREATE TABLE hub_heartbeats (
    hub_id  TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
