-- Durable engine tables (issue #2). Unqualified names: they live in the connection's search_path
-- schema, so several test runs (or tenants) can share one database.

CREATE TABLE instances (
    id              text PRIMARY KEY,
    orchestration   text        NOT NULL,
    runtime_status  text        NOT NULL,            -- Pending | Running | Completed | Failed
    custom_status   text        NOT NULL DEFAULT '', -- user-facing status (RECEIVED … DEPLOYED)
    state           jsonb,
    version         bigint      NOT NULL DEFAULT 0,  -- optimistic concurrency token
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX instances_status_created ON instances (orchestration, custom_status, created_at DESC);
CREATE INDEX instances_created ON instances (orchestration, created_at DESC, id);

-- Append-only history: one row per applied event; the task timeline.
CREATE TABLE history (
    id              bigserial PRIMARY KEY,
    instance_id     text        NOT NULL REFERENCES instances (id),
    version         bigint      NOT NULL,            -- instance version after the event
    event_type      text        NOT NULL,
    event           jsonb       NOT NULL,
    custom_status   text        NOT NULL,
    summary         text,
    occurred_at     timestamptz NOT NULL,
    UNIQUE (instance_id, version)
);

-- Keys under which external events find instances (e.g. github-issue:owner/repo#12).
CREATE TABLE instance_keys (
    key             text        NOT NULL,
    instance_id     text        NOT NULL REFERENCES instances (id),
    PRIMARY KEY (key, instance_id)
);

-- The work queue: activities, durable timers, event deliveries and webhook routing.
CREATE TABLE work_items (
    id                bigserial PRIMARY KEY,
    kind              text        NOT NULL,          -- activity | timer | event
    instance_id       text,                          -- null for system activities (routing, sweeps)
    name              text        NOT NULL,          -- activity name, timer name or event type
    payload           jsonb       NOT NULL,
    unique_key        text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending', -- pending | running | completed | failed
    due_at            timestamptz NOT NULL,
    attempt           integer     NOT NULL DEFAULT 0,
    max_attempts      integer     NOT NULL DEFAULT 1,
    retry_first_ms    bigint      NOT NULL DEFAULT 0,
    retry_coefficient double precision NOT NULL DEFAULT 1,
    retry_max_ms      bigint      NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    CONSTRAINT work_items_unique_key UNIQUE (unique_key)
);
CREATE INDEX work_items_claimable ON work_items (due_at, id) WHERE status = 'pending';
CREATE INDEX work_items_leases ON work_items (lease_expires_at) WHERE status = 'running';
CREATE INDEX work_items_instance ON work_items (instance_id) WHERE status IN ('pending', 'running');

-- Every accepted webhook delivery. Two unique keys: GitHub keeps the delivery id on redelivery,
-- Plane sends a new id on every retry of the same body.
CREATE TABLE inbox (
    id              bigserial PRIMARY KEY,
    source          text        NOT NULL,            -- plane | github
    delivery_id     text        NOT NULL,
    event_type      text        NOT NULL,
    body_sha256     bytea       NOT NULL,
    body            bytea       NOT NULL,
    received_at     timestamptz NOT NULL,
    processed_at    timestamptz,
    outcome         text,
    CONSTRAINT inbox_delivery UNIQUE (source, delivery_id),
    CONSTRAINT inbox_body UNIQUE (source, body_sha256)
);
