-- The audit trail is listed newest first by time, then id.
CREATE INDEX audit_events_account_time ON audit_events (account_id, occurred_at, id);
