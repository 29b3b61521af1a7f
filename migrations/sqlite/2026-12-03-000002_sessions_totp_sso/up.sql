-- Admin sessions, TOTP enrolment and per-account SSO identity providers.

-- TOTP secrets are sealed under the master key. `totp_pending` holds a
-- secret being enrolled until it is confirmed; `totp_last_step` is the last
-- accepted 30-second step, so that a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    method     TEXT NOT NULL CHECK (method IN ('password', 'password+totp', 'sso')),
    mfa        BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP,
    source_ip  TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE sso_providers (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    issuer     TEXT NOT NULL,
    audience   TEXT NOT NULL,
    jwks       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sso_providers_issuer ON sso_providers (issuer);
