//! The integration suite: every test spawns its own keymint on a random
//! port with its own database. `KEYMINT_TEST_DATABASE_URL=postgres://…`
//! runs the whole suite on PostgreSQL instead of SQLite.

mod admin_audit;
mod admin_clients;
mod admin_limits;
mod admin_me;
mod admin_sessions;
mod admin_sso;
mod cli;
mod crash;
mod directory;
mod discovery;
mod faults;
mod helpers;
mod hostile;
mod instances;
mod introspect;
mod keys;
mod leaks;
mod openapi;
mod ops;
mod storage;
mod token;
mod ui;
mod verify;
mod verify_helpers;
