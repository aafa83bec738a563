-- A batch's progress is counted from its tasks when it is read, rather
-- than kept in its row: adding one to the batch row as each task settled
-- made every settling answer wait for that one row's lock (with several
-- hubs on PostgreSQL, most of their time). batches.tasks_done is no longer
-- kept; completed_at is written once, when a read finds every task final.
-- Only final tasks are in the index, so loading a batch pays nothing for
-- it.
CREATE INDEX tasks_batch_final ON tasks (batch_id) WHERE state IN ('done', 'failed');
