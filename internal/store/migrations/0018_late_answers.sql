-- A late answer (its worker's assignment or center lease had run out) that
-- counted as an extra judgment beside the task's live holders. While those
-- holders still hold their places, the task is decided without such
-- answers, so a late answer never settles a task under a current holder.
ALTER TABLE assignments ADD COLUMN extra INTEGER NOT NULL DEFAULT 0;
