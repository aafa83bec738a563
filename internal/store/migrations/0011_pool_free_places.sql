-- The pool indexes hold only tasks with a place free. A task every place
-- of which is held (by workers or centers' leases) left the index when it
-- was taken, so handing out work no longer steps over every task the other
-- workers are busy with: with 200 workers at overlap 1 that was about a
-- hundred rows read and dropped on every claim. The condition is written
-- as a difference compared with zero because SQLite uses a partial index
-- only when it can match the query's terms to the index's, and it does not
-- match "answers + holders < wanted".
DROP INDEX tasks_pool;
DROP INDEX tasks_project_pool;
CREATE INDEX tasks_pool ON tasks (id)
    WHERE state IN ('open', 'in_progress') AND gold = 0 AND wanted - answers - holders > 0;
CREATE INDEX tasks_project_pool ON tasks (project_id, id)
    WHERE state IN ('open', 'in_progress') AND gold = 0 AND wanted - answers - holders > 0;
