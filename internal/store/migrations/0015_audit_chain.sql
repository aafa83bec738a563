-- The audit log becomes a hash chain like the ledger: every event gets
-- the next number and the SHA-256 of the previous event's hash and its own
-- fields, so an event edited, deleted or reordered is found by
-- 'banyan audit verify'. Events written before this migration stay
-- unnumbered and outside the chain.
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
