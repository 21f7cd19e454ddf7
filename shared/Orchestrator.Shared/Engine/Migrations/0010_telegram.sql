-- Issue #12: Telegram notifications, approvals and tasks from a chat (shared/Orchestrator.Shared/Telegram/README.md).
-- Every row that must exist "at most once" is keyed here, so a retried step or activity cannot make a second one.

-- The live tracker message: one per task, ever. Written by the NotifyTask activity (TelegramNotifier), never by a step.
--   status     new (row exists, nothing sent) | sending (a sendMessage is in flight: committed BEFORE the call, so a
--              crash during it is seen) | sent (message_id is the message) | uncertain (a send whose outcome is
--              unknown — timeout or crash mid-call — was never repeated: at most one message per task; no more edits)
--   text_hash  SHA-256 of the last text Telegram accepted (sent or edited): an unchanged rendering sends nothing
CREATE TABLE telegram_messages (
    task_id       text        PRIMARY KEY,
    project_slug  text,
    chat_id       bigint      NOT NULL,
    thread_id     integer,
    message_id    integer,
    status        text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'sending', 'sent', 'uncertain')),
    text_hash     text,
    edits         integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Alerts (separate, notifying messages): one per (task, alert key), inserted in the transaction of the step that raised
-- it (the step projection), sent by the NotifyAlert activity. Keys are per event, e.g. approval:<execution>,
-- agent_failed:<execution>:<retries>, ci_failed:<round>:<sha> (Notifications/NotificationRules.cs).
--   status   pending | sending (committed before the call) | sent | uncertain (outcome unknown; never resent) |
--            skipped (the project does not want this kind, or has no chat now)
CREATE TABLE telegram_alerts (
    task_id       text        NOT NULL,
    alert_key     text        NOT NULL,
    kind          text        NOT NULL,
    payload       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'uncertain', 'skipped')),
    chat_id       bigint,
    message_id    integer,
    created_at    timestamptz NOT NULL,
    sent_at       timestamptz,
    PRIMARY KEY (task_id, alert_key)
);

-- Approval requests: one per role pipeline instance and execution that waits at the human gate. The id is what the
-- Approve / Reject buttons carry (callback_data "ap:<id>:a|r", 64 bytes at most). Whichever side decides first wins
-- (a conditional UPDATE ... WHERE status IN ('pending','awaiting_reason')); the other side is brought to match.
--   status       pending | awaiting_reason (Reject pressed; the presser's reply to prompt_message_id is the reason) |
--                approved | rejected | closed (the gate was left otherwise: cancelled, taken over)
--   decided_via  telegram | tracker
CREATE TABLE telegram_approvals (
    id                 bigserial   PRIMARY KEY,
    task_id            text        NOT NULL,
    roles_id           text        NOT NULL,
    execution          integer     NOT NULL,
    stage              text        NOT NULL,
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'awaiting_reason', 'approved', 'rejected', 'closed')),
    decided_by_id      bigint,
    decided_by_name    text,
    decided_via        text,
    reason             text,
    prompt_chat_id     bigint,
    prompt_message_id  integer,
    requested_at       timestamptz NOT NULL,
    decided_at         timestamptz,
    UNIQUE (roles_id, execution)
);
CREATE INDEX telegram_approvals_prompt ON telegram_approvals (prompt_chat_id, prompt_message_id) WHERE prompt_message_id IS NOT NULL;

-- Updates received (long polling or webhook), deduplicated by update_id per bot: the row and the work item that handles
-- the update commit together, so an update is handled exactly once across restarts and replicas.
CREATE TABLE telegram_updates (
    bot_id       bigint      NOT NULL,
    update_id    bigint      NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (bot_id, update_id)
);

-- Per bot: the getUpdates offset (the highest update_id stored + 1) and the webhook registered.
CREATE TABLE telegram_bots (
    bot_id       bigint      PRIMARY KEY,
    poll_offset  bigint      NOT NULL DEFAULT 0,
    webhook_url  text,
    updated_at   timestamptz NOT NULL
);

-- Chats the bot lost access to (403 "bot was kicked", 400 "chat not found"): sending stops until lost_until passes or
-- the project's settings are saved again; the settings screen shows why.
CREATE TABLE telegram_chats (
    chat_id      bigint      PRIMARY KEY,
    lost_at      timestamptz,
    lost_until   timestamptz,
    reason       text,
    updated_at   timestamptz NOT NULL
);

-- Send slots shared by every replica: key chat:<id> (about one message per second per chat) and bot:<id> (30 per second
-- per bot). next_at is the earliest time the next call may go; a 429's retry_after moves it.
CREATE TABLE telegram_rate (
    key          text        PRIMARY KEY,
    next_at      timestamptz NOT NULL
);
