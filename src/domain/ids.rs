//! Opaque identifiers seen outside: random UUIDs, never sequential integers.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::random;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random (version 4) identifier from the system CSPRNG.
            pub fn generate() -> Self {
                let bytes: [u8; 16] = random::bytes();
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
            }

            /// Accepts the canonical hyphenated UUID form only, so that one
            /// identifier has exactly one spelling.
            pub fn parse(text: &str) -> Option<Self> {
                let uuid = Uuid::try_parse(text).ok()?;
                let canonical = uuid.hyphenated().to_string();
                (canonical == text).then_some(Self(canonical))
            }

            /// Wraps a value read back from storage.
            pub fn from_stored(text: String) -> Self {
                Self(text)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// Identifies an account (a customer organisation).
    AccountId
);
uuid_id!(
    /// Identifies a user of an account.
    UserId
);
uuid_id!(
    /// Identifies an admin session (never the bearer token itself).
    SessionId
);
uuid_id!(
    /// The record id of a client, used in `/admin/v1/clients/{id}`; distinct
    /// from the OAuth `client_id` the client authenticates with.
    ClientRecordId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_canonical_uuids() {
        let a = AccountId::generate();
        let b = AccountId::generate();

        assert_ne!(a, b);
        assert_eq!(AccountId::parse(a.as_str()), Some(a));
    }

    #[test]
    fn parse_refuses_non_canonical_spellings() {
        let id = UserId::generate();
        let upper = id.as_str().to_uppercase();

        assert_eq!(UserId::parse(&upper), None);
        assert_eq!(UserId::parse("42"), None);
        assert_eq!(UserId::parse(""), None);
    }
}
