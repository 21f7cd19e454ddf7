-- The read model (issue #9, section 3): screens and APIs read task rows, not engine internals. Both tables are written
-- by the task pipeline's step projection in the same transaction as the step (shared/Orchestrator.Shared/ReadModel),
-- and by API actions in the transaction that raises their event. Existing tasks are back-filled at the end.

-- Who raised a queued event (source tracker|forge|system|user|api, actor, delivery id), handed to the projection of
-- the step that applies it. NULL: the orchestrator itself (activity results, timers, child-finished events).
ALTER TABLE work_items ADD COLUMN origin jsonb;

-- One row per task pipeline instance (id = the instance id, e.g. plane-<uuid>).
CREATE TABLE tasks (
    id                  text PRIMARY KEY,
    project_slug        text,                  -- NULL only for a task of a project that no longer exists
    task_key            text,                  -- PREFIX-N, once known
    title               text,
    status              text        NOT NULL,  -- what users see, overlays applied (BLOCKED, AUTO_DISABLED): GET /api/tasks
    step                text        NOT NULL,  -- the pipeline step under any overlay (RECEIVED … DEPLOYED, FAILED, …)
    blocked             boolean     NOT NULL DEFAULT false, -- the BLOCKED overlay (tracker says blocked, task unfinished)
    auto_disabled       boolean     NOT NULL DEFAULT false, -- the AUTO_DISABLED overlay (AutoTask off, syncing stopped)
    tracker_kind        text        NOT NULL,  -- plane | asana
    tracker_project_id  text        NOT NULL,
    tracker_item_id     text        NOT NULL,
    tracker_url         text,
    forge_kind          text        NOT NULL,  -- github | gitea
    repo                text,                  -- owner/name, once resolved
    issue_number        integer,
    issue_url           text,
    pr_number           integer,
    pr_url              text,
    merge_sha           text,
    ci_state            text,                  -- pending | success | failure | not_required; NULL before the merge
    ci_url              text,
    failed_step         text,                  -- while FAILED: TaskSpec | Issue | Ci | Agents
    failure_reason      text,                  -- while FAILED
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deployed_at         timestamptz,
    -- Key-or-title search: one lower-cased column, matched with LIKE '%term%' inside one project's rows. pg_trgm would
    -- index it, but extensions are database-wide (this schema may share its database with others) and not every
    -- server allows them; the dashboard benchmark meets its target on 100,000 tasks without it.
    search              text GENERATED ALWAYS AS (lower(coalesce(task_key, '') || ' ' || coalesce(title, ''))) STORED
);

-- The dashboard (shared/Orchestrator.Shared/ReadModel/ReadModelQueries.cs; figures: tests/Orchestrator.Benchmarks,
-- `-- dashboard`). A project's tasks newest-updated first; the included columns let a search (and any filter with it)
-- run as an index-only scan over the project's entries instead of reading its rows.
CREATE INDEX tasks_project_updated ON tasks (project_slug, updated_at DESC, id DESC) INCLUDE (step, blocked, auto_disabled, search);
-- By step; also the counts per step and overlay, as an index-only scan in step order.
CREATE INDEX tasks_project_step_updated ON tasks (project_slug, step, updated_at DESC, id DESC) INCLUDE (blocked, auto_disabled);
-- The BLOCKED overlay (a few percent of the tasks).
CREATE INDEX tasks_project_blocked_updated ON tasks (project_slug, updated_at DESC, id DESC) WHERE blocked;
-- A task page by key (case-insensitive, WEB-42 = web-42).
CREATE INDEX tasks_key ON tasks (lower(task_key));
-- GET /api/tasks (all projects, newest created first, optionally one status).
CREATE INDEX tasks_created ON tasks (created_at DESC, id);
CREATE INDEX tasks_status_created ON tasks (status, created_at DESC, id);

-- Append-only facts about tasks. summary is a small JSON object of chosen fields (numbers, links, statuses, clipped
-- reasons), never a webhook body, a TaskSpec or an agent's output. Types and their fields:
-- shared/Orchestrator.Shared/Engine/README.md ("The read model").
CREATE TABLE task_events (
    id            bigserial   PRIMARY KEY,
    task_id       text        NOT NULL REFERENCES tasks (id),
    project_slug  text,
    source        text        NOT NULL,       -- tracker | forge | system | user | api
    event_type    text        NOT NULL,       -- status_changed, pr_merged, ci_updated, manual_action, …
    actor         text,                       -- admin-token (API), a user name (web tool), NULL when unknown
    summary       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    delivery_id   text,                       -- the webhook delivery it came from, when there is one
    created_at    timestamptz NOT NULL
);
-- A task's timeline, newest first.
CREATE INDEX task_events_task ON task_events (task_id, id DESC);
-- A project's events in a time range.
CREATE INDEX task_events_project_created ON task_events (project_slug, created_at DESC);

-- Back-fill: every task pipeline instance that has a state gets its row ...
INSERT INTO tasks (id, project_slug, task_key, title, status, step, blocked, auto_disabled, tracker_kind, tracker_project_id,
                   tracker_item_id, tracker_url, forge_kind, repo, issue_number, issue_url, pr_number, pr_url, merge_sha,
                   ci_state, ci_url, failed_step, failure_reason, created_at, updated_at, deployed_at)
SELECT i.id,
       COALESCE(s -> 'project' ->> 'projectSlug',
                (SELECT p.slug FROM projects p
                 WHERE p.definition -> 'tracker' -> 'project_ids' ? (s -> 'project' ->> 'trackerProjectId')
                 ORDER BY p.slug LIMIT 1)),
       s ->> 'taskKey',
       s ->> 'title',
       i.custom_status,
       s ->> 'status',
       COALESCE((s ->> 'blocked')::boolean, false) AND s ->> 'status' NOT IN ('DEPLOYED', 'CANCELLED', 'FAILED'),
       COALESCE((s ->> 'disabled')::boolean, false),
       COALESCE(s -> 'project' ->> 'tracker', 'plane'),
       s -> 'project' ->> 'trackerProjectId',
       s ->> 'workItemId',
       s -> 'item' ->> 'url',
       COALESCE(s -> 'project' ->> 'forge', 'github'),
       COALESCE(s ->> 'repo',
                CASE WHEN COALESCE((s -> 'project' ->> 'repoFromTracker')::boolean, false)
                       OR COALESCE(s -> 'project' ->> 'repo', '') = '' THEN NULL
                     ELSE s -> 'project' ->> 'repo' END),
       (s ->> 'issueNumber')::integer,
       s ->> 'issueUrl',
       (s ->> 'prNumber')::integer,
       s ->> 'prUrl',
       s ->> 'mergeSha',
       CASE WHEN s ->> 'mergeSha' IS NULL THEN NULL
            WHEN s ->> 'status' = 'WAITING_CI' THEN 'pending'
            WHEN s ->> 'status' = 'DEPLOYED' THEN
                CASE WHEN COALESCE((s -> 'project' ->> 'requireCi')::boolean, true) THEN 'success' ELSE 'not_required' END
            WHEN s ->> 'status' = 'FAILED' AND s ->> 'failedStep' = 'Ci' THEN 'failure'
       END,
       s ->> 'ciUrl',
       CASE WHEN s ->> 'status' = 'FAILED' THEN s ->> 'failedStep' END,
       CASE WHEN s ->> 'status' = 'FAILED' THEN s ->> 'failureReason' END,
       COALESCE(NULLIF((s ->> 'receivedAt')::timestamptz, '0001-01-01T00:00:00Z'), i.created_at),
       i.updated_at,
       (s ->> 'deployedAt')::timestamptz
FROM instances i
CROSS JOIN LATERAL (SELECT i.state AS s) st
WHERE i.orchestration = 'TaskPipeline' AND i.state IS NOT NULL
ON CONFLICT (id) DO NOTHING;

-- ... and its history as events (tasks that have no events yet only, so running this again adds nothing). History
-- keeps the applied event and the status after it, not who raised it: sources are inferred from the event type
-- (tracker/forge deliveries, API actions, the orchestrator), delivery ids and actors are unknown, and every
-- back-filled summary says "backfilled": true. Reconciliation findings are summarised by their status change.
WITH hist AS (
    SELECT h.instance_id, h.version, h.event_type, h.event, h.custom_status, h.summary, h.occurred_at,
           lag(h.custom_status) OVER (PARTITION BY h.instance_id ORDER BY h.version) AS previous_status,
           CASE WHEN h.event_type IN ('TaskReceived', 'WorkItemUpdated', 'WorkItemDeleted') THEN 'tracker'
                WHEN h.event_type IN ('PullRequestLinked', 'PullRequestClosed', 'PullRequestMerged', 'CiCompleted') THEN 'forge'
                WHEN h.event_type IN ('RetryRequested', 'RepoAssigned') THEN 'api'
                ELSE 'system' END AS source
    FROM history h
    JOIN tasks t ON t.id = h.instance_id
    WHERE NOT EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = h.instance_id)
)
INSERT INTO task_events (task_id, project_slug, source, event_type, actor, summary, delivery_id, created_at)
SELECT hist.instance_id, t.project_slug, hist.source, f.event_type, NULL,
       jsonb_strip_nulls(f.summary) || '{"backfilled": true}'::jsonb, NULL, hist.occurred_at
FROM hist
JOIN tasks t ON t.id = hist.instance_id
CROSS JOIN LATERAL (VALUES
    (1, CASE WHEN hist.source IN ('tracker', 'forge') THEN 'webhook_received' END,
        jsonb_build_object('event', hist.event_type)),
    (2, CASE hist.event_type WHEN 'RetryRequested' THEN 'manual_action' WHEN 'RepoAssigned' THEN 'manual_action' END,
        jsonb_build_object('action', CASE hist.event_type WHEN 'RetryRequested' THEN 'retry' ELSE 'set_repo' END,
                           'repo', hist.event ->> 'repo')),
    (3, CASE WHEN hist.summary LIKE 'Repository set to %' THEN 'repo_resolved' END,
        jsonb_build_object('repo', COALESCE(hist.event ->> 'repo', hist.event -> 'item' ->> 'repo'))),
    (4, CASE WHEN hist.custom_status = 'NEEDS_REPO' AND hist.previous_status IS DISTINCT FROM 'NEEDS_REPO' THEN 'repo_missing' END,
        '{}'::jsonb),
    (5, CASE hist.event_type
            WHEN 'IssueEnsured' THEN 'issue_created'
            WHEN 'ForgeIssueClosed' THEN 'issue_closed'
            WHEN 'PullRequestLinked' THEN 'pr_linked'
            WHEN 'PullRequestClosed' THEN 'pr_closed'
            WHEN 'PullRequestMerged' THEN 'pr_merged'
            WHEN 'CiCompleted' THEN 'ci_updated'
            WHEN 'CiChecked' THEN 'ci_updated'
            WHEN 'TrackerCompleted' THEN 'tracker_completed'
            WHEN 'TrackerReopened' THEN 'tracker_reopened'
            WHEN 'TaskActivityFailed' THEN 'error'
        END,
        CASE hist.event_type
            WHEN 'IssueEnsured' THEN jsonb_build_object('number', hist.event -> 'number', 'url', hist.event ->> 'url', 'created', hist.event -> 'created')
            WHEN 'ForgeIssueClosed' THEN jsonb_build_object('number', hist.event -> 'number')
            WHEN 'PullRequestLinked' THEN jsonb_build_object('number', hist.event -> 'number', 'url', hist.event ->> 'url', 'repo', hist.event ->> 'repo')
            WHEN 'PullRequestClosed' THEN jsonb_build_object('number', hist.event -> 'number', 'repo', hist.event ->> 'repo')
            WHEN 'PullRequestMerged' THEN jsonb_build_object('number', hist.event -> 'number', 'url', hist.event ->> 'url', 'sha', hist.event ->> 'mergeSha')
            WHEN 'CiCompleted' THEN jsonb_build_object('sha', hist.event ->> 'sha', 'result', hist.event ->> 'conclusion', 'url', hist.event ->> 'url',
                                                      'via', hist.event ->> 'source')
            WHEN 'CiChecked' THEN jsonb_build_object('sha', hist.event ->> 'sha', 'result', lower(hist.event ->> 'outcome'), 'url', hist.event ->> 'url',
                                                    'via', 'check', 'detail', left(hist.event ->> 'detail', 300))
            WHEN 'TrackerCompleted' THEN jsonb_build_object('state', hist.event ->> 'stateName',
                                                           'by_us', COALESCE(hist.event -> 'completedByUs', 'true'::jsonb))
            WHEN 'TrackerReopened' THEN jsonb_build_object('state', hist.event ->> 'stateName')
            WHEN 'TaskActivityFailed' THEN jsonb_build_object('activity', hist.event ->> 'activity', 'attempts', hist.event -> 'attempts',
                                                             'error', left(hist.event ->> 'error', 300))
        END),
    (6, CASE WHEN hist.custom_status IS DISTINCT FROM hist.previous_status THEN 'status_changed' END,
        jsonb_build_object('from', hist.previous_status, 'to', hist.custom_status, 'reason', left(hist.summary, 300)))
) AS f (ord, event_type, summary)
WHERE f.event_type IS NOT NULL
ORDER BY hist.instance_id, hist.version, f.ord;
