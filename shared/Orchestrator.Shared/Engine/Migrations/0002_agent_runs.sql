-- Agent runs (issue #3): one row per CLI run, summed per task on the task page.
CREATE TABLE agent_runs (
    id              bigserial PRIMARY KEY,
    instance_id     text,
    project         text        NOT NULL,
    stage           text        NOT NULL,
    round           integer     NOT NULL DEFAULT 1,
    agent           text        NOT NULL,
    kind            text        NOT NULL,
    model           text,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    exit_code       integer,
    is_error        boolean,
    failure         text,                    -- None | Transient | Permanent
    failure_reason  text,
    tokens_in       bigint,
    tokens_out      bigint,
    cost_usd        numeric(12, 6),
    session_id      text,
    duration_ms     bigint,
    log_path        text,
    log_tail        text                     -- last few KiB of the run log
);
CREATE INDEX agent_runs_instance ON agent_runs (instance_id, id);
CREATE INDEX agent_runs_running ON agent_runs (agent) WHERE finished_at IS NULL;
