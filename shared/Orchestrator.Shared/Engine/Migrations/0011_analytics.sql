-- Issue #11 §2: the analytics API (shared/Orchestrator.Shared/ReadModel/AnalyticsQueries.cs) and §3's scrape-time
-- gauges. Figures on 100,000 tasks / 1,000,000 events: tests/Orchestrator.Benchmarks (`-- summary`).

-- Status transitions of a project by the step they reach, in time order: deployed and failed tasks in a range, and the
-- funnel's cohort (tasks received in a range), without reading the project's other events. The expression is the step
-- a status_changed event moved to (step_to is only written when an overlay such as BLOCKED hides it; the queries use
-- exactly this expression, so the planner matches it).
CREATE INDEX task_events_project_step_to ON task_events (project_slug, (COALESCE(summary ->> 'step_to', summary ->> 'to')), created_at)
    WHERE event_type = 'status_changed';

-- Each task's arrival (the status_changed without "from" that started it): the start of its lead time, read for every
-- task deployed in a range as an index-only probe (the timeline index would read the event rows: 80 ms instead of 28 ms
-- for 3,700 deployed tasks in the benchmark).
CREATE INDEX task_events_arrival ON task_events (task_id, created_at) WHERE event_type = 'status_changed' AND NOT (summary ? 'from');

-- Cost in a range: a project's finished agent runs by finish time, with what is summed (an index-only scan).
CREATE INDEX agent_runs_project_finished ON agent_runs (project, finished_at) INCLUDE (cost_usd, tokens_in, tokens_out)
    WHERE finished_at IS NOT NULL;

-- Dead work (rows that used their last attempt) for the jobs health and the metrics' work-item gauges; the other open
-- states have their partial indexes already (work_items_claimable, work_items_leases).
CREATE INDEX work_items_failed ON work_items (updated_at) WHERE status = 'failed';

-- Webhook health's "last delivery" per project and source (per-project endpoints; the host-wide ones store NULL).
CREATE INDEX inbox_project_source_received ON inbox (project_slug, source, received_at) WHERE project_slug IS NOT NULL;
