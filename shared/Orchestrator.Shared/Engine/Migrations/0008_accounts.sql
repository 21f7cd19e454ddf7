-- The web tool's accounts and access (issue #9). Every secret here is stored as a SHA-256 hash (session ids, invite
-- tokens, sign-in links, API tokens) or a PasswordHasher<T> hash (passwords: PBKDF2-HMAC-SHA512, ≥ 210,000 iterations):
-- a database dump lets nobody sign in.

CREATE TABLE users (
    id             bigserial   PRIMARY KEY,
    username       text        NOT NULL,
    password_hash  text        NOT NULL,
    is_host_admin  boolean     NOT NULL DEFAULT false,
    disabled       boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);

-- Usernames are unique case-insensitively ("Alice" and "alice" are one person).
CREATE UNIQUE INDEX users_username ON users (lower(username));

-- A session is a random 256-bit id in an HttpOnly cookie; only its SHA-256 is stored. Idle expiry moves with
-- last_seen_at; absolute expiry never moves. Logout and a password change delete the rows.
CREATE TABLE sessions (
    id_hash       bytea       PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    user_agent    text,
    ip            text
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Invites: a project admin makes a single-use link for a role; it expires after 7 days.
CREATE TABLE invites (
    id            bigserial   PRIMARY KEY,
    token_hash    bytea       NOT NULL UNIQUE,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    role          text        NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_by    bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    used_by       bigint      REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX invites_project ON invites (project_slug, created_at DESC);

CREATE TABLE project_memberships (
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    role          text        NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, project_slug)
);

CREATE INDEX project_memberships_project ON project_memberships (project_slug);

-- Project API tokens: "orch_" + 40 random base32 characters, shown once; the first 12 characters are kept to
-- recognise a token in lists, the SHA-256 of the whole token to authenticate it.
CREATE TABLE api_tokens (
    id            bigserial   PRIMARY KEY,
    project_slug  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    name          text        NOT NULL,
    token_hash    bytea       NOT NULL UNIQUE,
    prefix        text        NOT NULL,
    role          text        NOT NULL DEFAULT 'editor' CHECK (role IN ('admin', 'editor', 'viewer')),
    created_by    bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX api_tokens_project ON api_tokens (project_slug, created_at DESC);

-- Every sign-in attempt, without the password: for throttling (failures per username and per IP in a window) and
-- for the account page's history.
CREATE TABLE login_attempts (
    id            bigserial   PRIMARY KEY,
    username      text        NOT NULL,
    ip            text        NOT NULL,
    succeeded     boolean     NOT NULL,
    reason        text        NOT NULL,
    user_agent    text,
    at            timestamptz NOT NULL
);

CREATE INDEX login_attempts_username ON login_attempts (lower(username), at DESC);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at DESC);

-- One-time sign-in links (the demo prints one): single use, short-lived.
CREATE TABLE sign_in_links (
    token_hash    bytea       PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

-- ASP.NET Core Data Protection keys (they sign antiforgery tokens and temp data), shared by every replica; each key's
-- XML is encrypted with the master key (AES-256-GCM, like project secrets) before it is stored.
CREATE TABLE data_protection_keys (
    name        text        PRIMARY KEY,
    xml         text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
