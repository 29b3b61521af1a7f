//! Checking keymint access tokens in other services.
//!
//! Behind the `verify` cargo feature, which compiles none of the server.
//! [`ring_provider`] makes the `jsonwebtoken` crate verify with ring, the
//! one crypto library keymint uses.

pub mod ring_provider;
