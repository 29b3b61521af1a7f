//! The role a user holds in their account.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `owner` may manage the account's API keys; `member` may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages API keys and reads the audit trail.
    Owner,
    /// Belongs to the account but cannot see or manage its keys.
    Member,
}

impl Role {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "owner" => Ok(Role::Owner),
            "member" => Ok(Role::Member),
            other => Err(format!(
                "unknown role `{other}`: expected `owner` or `member`"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
