-- Issue #9 §2: webhook statistics for the webhooks page (and, later, the analytics API), and each project's knowledge
-- (links, contacts, Markdown notes) that the web tool edits and every TaskSpec of the project carries.

-- Webhook deliveries counted per hour, per project and source, by outcome. One row per (project, source, UTC hour),
-- written by the webhook endpoints' statistics filter (functions/Orchestrator.Functions/Functions/WebhookStatsFilter.cs)
-- with one upsert per delivery after the answer was sent (shared/Orchestrator.Shared/Webhooks/WebhookStats.cs).
--   project_slug  the project of a per-project endpoint /webhooks/{source}/{slug}; NULL for the host-wide endpoints
--                 /webhooks/plane and /webhooks/github (their project is only known once routing ran).
--   source        plane | github | gitea | asana
--   hour          start of the UTC hour the answer was given in (minutes and seconds zero)
--   accepted      verified deliveries stored in the inbox (answered 2xx "accepted")
--   duplicate     verified deliveries the inbox already held (answered 2xx "duplicate"; redeliveries, retries)
--   refused       missing or wrong signatures (401) and stray Asana handshakes (403)
--   failed        verified-or-not requests answered 400, 408, 413, 415, 422, 429 or 5xx (malformed, too large, busy, our errors)
-- Asana heartbeats and handshakes, and 404s, are not counted. A per-project row is written only for an existing project
-- that has that source as its tracker or forge, so the table stays bounded (projects × 4 sources × hours): requests for
-- unknown slugs write nothing. Rows go with their project. Per day: sum the hours (date_trunc('day', hour AT TIME ZONE …)).
CREATE TABLE webhook_stats (
    project_slug  text        REFERENCES projects (slug) ON DELETE CASCADE,
    source        text        NOT NULL CHECK (source IN ('plane', 'github', 'gitea', 'asana')),
    hour          timestamptz NOT NULL CHECK (date_trunc('hour', hour AT TIME ZONE 'UTC') = hour AT TIME ZONE 'UTC'),
    accepted      integer     NOT NULL DEFAULT 0,
    duplicate     integer     NOT NULL DEFAULT 0,
    refused       integer     NOT NULL DEFAULT 0,
    failed        integer     NOT NULL DEFAULT 0
);

-- The upsert's conflict target; the host-wide endpoints (NULL project) share one bucket per source and hour. An
-- expression index rather than UNIQUE NULLS NOT DISTINCT, which needs PostgreSQL 15 (we support 13+).
CREATE UNIQUE INDEX webhook_stats_bucket ON webhook_stats ((COALESCE(project_slug, '')), source, hour);

-- Project knowledge. Sizes are capped here too (the web tool checks them first and says which field is too long).
CREATE TABLE project_links (
    id            bigserial   PRIMARY KEY,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    title         text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    url           text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048 AND url ~* '^https?://'),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX project_links_project ON project_links (project_slug, id);

CREATE TABLE project_contacts (
    id            bigserial   PRIMARY KEY,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    role          text        NOT NULL DEFAULT '' CHECK (char_length(role) <= 200),
    reach         text        NOT NULL CHECK (char_length(reach) BETWEEN 1 AND 500),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX project_contacts_project ON project_contacts (project_slug, id);

-- body is Markdown as the user wrote it; the web tool renders it without raw HTML, the TaskSpec embeds it.
CREATE TABLE project_notes (
    id            bigserial   PRIMARY KEY,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    title         text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body          text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX project_notes_project ON project_notes (project_slug, id);
