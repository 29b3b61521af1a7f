//! keymint's rules and types: identifiers, scopes, roles and who may do what.
//!
//! Nothing here knows about HTTP or the database; handlers and storage
//! translate to and from these types.

pub mod ids;
pub mod policy;
pub mod role;
pub mod scope;

pub use ids::{AccountId, ClientRecordId, SessionId, UserId};
pub use policy::{CreateBlocked, SessionMethod, create_blocked_reason};
pub use role::Role;
pub use scope::{Scope, ScopeError, ScopeSet};
