//! Scopes a client may hold and the rules for granting and requesting them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the three APIs a token can grant access to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// The Configuration API.
    #[serde(rename = "configuration")]
    Configuration,
    /// The Reporting API.
    #[serde(rename = "reporting")]
    Reporting,
    /// The Account Management API; only for clients of partner accounts.
    #[serde(rename = "account-management")]
    AccountManagement,
}

impl Scope {
    /// Every scope, in the canonical order used when printing a set.
    pub const ALL: [Scope; 3] = [
        Scope::Configuration,
        Scope::Reporting,
        Scope::AccountManagement,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Configuration => "configuration",
            Scope::Reporting => "reporting",
            Scope::AccountManagement => "account-management",
        }
    }

    /// Whether an account of this kind may hold the scope.
    pub fn allowed_for(self, partner_account: bool) -> bool {
        partner_account || self != Scope::AccountManagement
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Configuration => 1,
            Scope::Reporting => 2,
            Scope::AccountManagement => 4,
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| ScopeError::Unknown(text.chars().take(64).collect()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a list of scopes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A name that is not one of the three scopes (cut to 64 characters).
    #[error("unknown scope `{0}`")]
    Unknown(String),
    /// The same scope named twice where a list must not repeat.
    #[error("scope `{0}` is repeated")]
    Repeated(Scope),
    /// No scope at all where at least one is needed.
    #[error("at least one scope is required")]
    Empty,
}

/// A set of scopes, small enough to copy; prints space-delimited in
/// canonical order (RFC 6749 §3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// The empty set.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// Parses a space-delimited `scope` parameter (RFC 6749 §3.3). Repeats
    /// are harmless there and collapse; unknown names are refused.
    pub fn parse_request(text: &str) -> Result<Self, ScopeError> {
        text.split(' ')
            .filter(|part| !part.is_empty())
            .try_fold(ScopeSet::EMPTY, |set, part| Ok(set.with(part.parse()?)))
    }

    /// Builds the set a new client is granted: not empty and with no scope
    /// named twice.
    pub fn from_grant<I, S>(names: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = ScopeSet::EMPTY;
        for name in names {
            let scope: Scope = name.as_ref().parse()?;
            if set.contains(scope) {
                return Err(ScopeError::Repeated(scope));
            }
            set = set.with(scope);
        }
        if set.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(set)
    }

    /// Reads a set written by [`ScopeSet::to_string`]; `None` if the stored
    /// text holds anything else.
    pub fn from_stored(text: &str) -> Option<Self> {
        ScopeSet::parse_request(text).ok()
    }

    /// This set plus `scope`.
    #[must_use]
    pub fn with(self, scope: Scope) -> Self {
        ScopeSet(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `self` is also in `other`.
    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set holds no scope.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.contains(*scope))
    }

    /// The first scope that an account of this kind may not hold.
    pub fn first_disallowed(self, partner_account: bool) -> Option<Scope> {
        self.iter()
            .find(|scope| !scope.allowed_for(partner_account))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The JSON form written by `Serialize`: an array of scope names, each at
/// most once, in canonical order.
impl utoipa::PartialSchema for ScopeSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name(
                <Scope as utoipa::ToSchema>::name(),
            ))
            .unique_items(true)
            .description(Some("Scope names, each at most once, in canonical order."))
            .into()
    }
}

impl utoipa::ToSchema for ScopeSet {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        let name = <Scope as utoipa::ToSchema>::name().into_owned();
        schemas.push((name, <Scope as utoipa::PartialSchema>::schema()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_scope_parses_and_prints_canonically() {
        let set = ScopeSet::parse_request("reporting  configuration reporting").unwrap();

        assert_eq!(set.to_string(), "configuration reporting");
        assert!(!set.contains(Scope::AccountManagement));
    }

    #[test]
    fn unknown_scope_is_refused() {
        assert_eq!(
            ScopeSet::parse_request("reporting admin"),
            Err(ScopeError::Unknown("admin".into()))
        );
        assert!(ScopeSet::parse_request("Reporting").is_err());
    }

    #[test]
    fn grant_refuses_repeats_and_empty_lists() {
        assert_eq!(
            ScopeSet::from_grant(["reporting", "reporting"]),
            Err(ScopeError::Repeated(Scope::Reporting))
        );
        assert_eq!(
            ScopeSet::from_grant(Vec::<String>::new()),
            Err(ScopeError::Empty)
        );
        assert!(ScopeSet::from_grant(["configuration", "account-management"]).is_ok());
    }

    #[test]
    fn subset_and_partner_rules() {
        let both = ScopeSet::from_grant(["configuration", "reporting"]).unwrap();
        let one = ScopeSet::EMPTY.with(Scope::Reporting);
        let partner = one.with(Scope::AccountManagement);

        assert!(one.is_subset_of(both));
        assert!(!partner.is_subset_of(both));
        assert_eq!(
            partner.first_disallowed(false),
            Some(Scope::AccountManagement)
        );
        assert_eq!(partner.first_disallowed(true), None);
    }

    #[test]
    fn stored_form_round_trips() {
        let set = ScopeSet::from_grant(["account-management", "configuration"]).unwrap();

        assert_eq!(ScopeSet::from_stored(&set.to_string()), Some(set));
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["configuration","account-management"]"#
        );
    }
}
