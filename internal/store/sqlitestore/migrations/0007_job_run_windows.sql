-- The window a job run covered, in fields of its own (it was kept in the
-- counts as "windowFrom"/"windowTo"), as in convex/schema.ts. NULL in
-- runs recorded before; the scheduler then reads counts.windowTo.

ALTER TABLE jobRuns ADD COLUMN windowFrom INTEGER;
ALTER TABLE jobRuns ADD COLUMN windowTo INTEGER;
