-- Work is handed out and leased earliest effective due first, then oldest.
-- A batch's effective due is its deadline, or for a batch without one its
-- upload time plus the rule's undated_seconds, made earlier by
-- priority_step_seconds for each step of its project's priority (0 to 3).
-- The rule is the hub's --undated-due and --priority-step, written here by
-- a hub as it starts serving so that every hub on the database dates
-- batches alike; the row below holds their defaults (7 days, 24 hours).
ALTER TABLE projects ADD COLUMN priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3);
CREATE TABLE due_rule (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    undated_seconds       INTEGER NOT NULL CHECK (undated_seconds > 0),
    priority_step_seconds INTEGER NOT NULL CHECK (priority_step_seconds >= 0)
);
INSERT INTO due_rule (id, undated_seconds, priority_step_seconds) VALUES (1, 604800, 86400);

-- The effective due is kept on the batch (to tell, when the rule or the
-- priority changes, which batches moved) and on each task, so that the
-- pool indexes can be walked in hand-out order. It is in Unix seconds, not
-- a time's text like the other times: the claim walks the pool index from
-- its front, past the entries of tasks just taken (on PostgreSQL until a
-- vacuum removes them), and a narrow key keeps more entries on a page.
-- Batches and tasks made before this migration are dated by the hub when it
-- starts serving (NULL and 0 until then): SQL alone cannot read a time's
-- text as seconds on both engines.
ALTER TABLE batches ADD COLUMN due INTEGER;
ALTER TABLE tasks ADD COLUMN due INTEGER NOT NULL DEFAULT 0;
DROP INDEX tasks_pool;
DROP INDEX tasks_project_pool;
CREATE INDEX tasks_pool ON tasks (due, id)
    WHERE state IN ('open', 'in_progress') AND gold = 0 AND wanted - answers - holders > 0;
CREATE INDEX tasks_project_pool ON tasks (project_id, due, id)
    WHERE state IN ('open', 'in_progress') AND gold = 0 AND wanted - answers - holders > 0;
