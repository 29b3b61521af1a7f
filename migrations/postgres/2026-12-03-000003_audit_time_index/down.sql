DROP INDEX audit_events_account_time;
