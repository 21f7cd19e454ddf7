-- ORCH_PROJECTS_JSON seeds a project at startup. The digest of the entry applied last (definition and secrets,
-- encrypted like the secrets) lets the next start tell "the entry changed" (apply it) from "the entry is the same"
-- (keep what the API changed since). NULL: never seeded, or seeded before this column existed.
ALTER TABLE projects ADD COLUMN seed_digest text;
