-- Projects move from ORCH_PROJECTS_JSON into the database (issue #4). The definition is the non-secret
-- JSON of ProjectDefinition; secrets is {name: envelope} where each envelope is AES-256-GCM ciphertext
-- (see shared/Orchestrator.Shared/Projects/SecretProtector.cs), never plaintext.
CREATE TABLE projects (
    slug        text        PRIMARY KEY,
    definition  jsonb       NOT NULL,
    secrets     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Routing looks a project up by its tracker project id (Plane project UUID, Asana project gid).
CREATE INDEX projects_tracker_ids ON projects USING gin ((definition -> 'tracker' -> 'project_ids'));

-- One row per Asana webhook (per project and Asana project gid). The handshake secret arrives while the
-- create call is still open, so the row exists first with a short handshake window; the secret is stored
-- encrypted like project secrets. Heartbeats (empty event lists, about every 8 h) and events are recorded
-- for webhook health.
CREATE TABLE asana_webhooks (
    project_slug          text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    resource_gid          text        NOT NULL,
    webhook_gid           text,
    secret                text,
    handshake_until       timestamptz,
    created_at            timestamptz NOT NULL,
    last_event_at         timestamptz,
    last_heartbeat_at     timestamptz,
    PRIMARY KEY (project_slug, resource_gid)
);

-- Asana has no per-project sequence numbers: PREFIX-N comes from our own counter, one number per task, forever.
CREATE TABLE task_sequences (
    project_slug  text    NOT NULL,
    work_item_id  text    NOT NULL,
    seq           integer NOT NULL,
    PRIMARY KEY (project_slug, work_item_id),
    UNIQUE (project_slug, seq)
);

-- Deliveries to a per-project endpoint remember the project.
ALTER TABLE inbox ADD COLUMN project_slug text;
