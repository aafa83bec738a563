-- Working time is measured by the server that made the offer. What a
-- worker's client reports (duration_ms) is kept beside it as information
-- only; no figure reads it.
ALTER TABLE assignments ADD COLUMN reported_ms INTEGER;

-- At a village center, when the center's measure of an offer begins: the
-- offer itself (NULL: created_at), or the center's restart after it, so
-- time the center was down is not counted as work.
ALTER TABLE center_work ADD COLUMN timed_from TEXT;
ALTER TABLE center_work ADD COLUMN reported_ms INTEGER;
