-- Idempotency-Key (issue #11: POST actions of /api/v1): the first answer to a key is kept for 24 hours and replayed to a
-- retry of the same request by the same caller; the same key with another request is refused. status IS NULL while the
-- first request is still running. The body is the answer we sent (never a request body), capped at 64 KiB.
CREATE TABLE idempotency_keys (
    caller        text        NOT NULL,
    key           text        NOT NULL,
    request_hash  bytea       NOT NULL,
    status        integer,
    content_type  text,
    body          bytea,
    location      text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
