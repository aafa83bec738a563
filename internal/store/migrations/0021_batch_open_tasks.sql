-- A batch's tasks not yet final, so the transaction that settles a task
-- can ask in one index lookup whether it was its batch's last, and stamp
-- the batch complete there; reading a batch writes nothing.
CREATE INDEX tasks_batch_open ON tasks (batch_id) WHERE state NOT IN ('done', 'failed');
