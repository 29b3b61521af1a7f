DROP TABLE signing_keys;
DROP TABLE audit_events;
DROP TABLE clients;
DROP TABLE users;
DROP TABLE accounts;
