-- Accounts, users, API clients, the audit trail and signing keys.
-- Ids are opaque text (UUIDs); times are UTC.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    partner    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX users_account_id ON users (account_id);

CREATE TABLE clients (
    id           TEXT PRIMARY KEY NOT NULL,
    client_id    TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX clients_account_id ON clients (account_id, created_at);
CREATE INDEX clients_revoked_at ON clients (revoked_at);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT REFERENCES accounts (id),
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    source_ip   TEXT,
    occurred_at TIMESTAMP NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_events_account_id ON audit_events (account_id, id);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    alg          TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('next', 'current', 'previous', 'retired')),
    public_jwk   TEXT NOT NULL,
    private_key  TEXT,
    created_at   TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    retire_after TIMESTAMP
);
-- At most one key signs and at most one waits to sign, even when several
-- instances start at once.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (status) WHERE status = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (status) WHERE status = 'next';
