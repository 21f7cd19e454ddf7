-- Sub-orchestrations (issue #3): a child instance names its parent; when the child finishes, the
-- engine delivers a child-finished event to the parent in the same transaction.
ALTER TABLE instances ADD COLUMN parent_id text;
