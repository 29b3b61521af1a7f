//! The claims of a keymint access token (RFC 9068 §2.2).

use serde::{Deserialize, Serialize};

/// A verified access token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: keymint's URL.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The client (API key) the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// The account the client belongs to.
    pub acct: String,
}

impl AccessClaims {
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.acct
    }

    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|scope| !scope.is_empty())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_spaces() {
        let claims = AccessClaims {
            iss: "i".into(),
            sub: "c".into(),
            aud: "a".into(),
            exp: 2,
            iat: 1,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "configuration reporting".into(),
            acct: "acc".into(),
        };

        assert!(claims.has_scope("reporting"));
        assert!(!claims.has_scope("report"));
        assert_eq!(claims.scopes().count(), 2);
    }
}
