//! Who may do what with API keys.

use serde::Serialize;

use crate::domain::Role;

/// How an admin session was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum SessionMethod {
    /// Email and password only.
    #[serde(rename = "password")]
    Password,
    /// Email, password and a TOTP code.
    #[serde(rename = "password+totp")]
    PasswordTotp,
    /// An ID token from the account's OpenID Connect IdP.
    #[serde(rename = "sso")]
    Sso,
}

impl SessionMethod {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMethod::Password => "password",
            SessionMethod::PasswordTotp => "password+totp",
            SessionMethod::Sso => "sso",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "password" => Some(SessionMethod::Password),
            "password+totp" => Some(SessionMethod::PasswordTotp),
            "sso" => Some(SessionMethod::Sso),
            _ => None,
        }
    }

    /// Whether a session of this kind may create API keys: it was
    /// established with a second factor or through the account's IdP.
    pub fn strong(self) -> bool {
        matches!(self, SessionMethod::PasswordTotp | SessionMethod::Sso)
    }
}

/// Why a user may not create API keys right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreateBlocked {
    /// Only owners manage API keys.
    OwnerRoleRequired,
    /// The session was established with a password alone.
    MfaOrSsoRequired,
}

/// The rule for creating an API key: owners only, and only from a session
/// established with MFA or SSO. The role is checked first, since a member
/// cannot create keys however they sign in.
pub fn create_blocked_reason(role: Role, method: SessionMethod) -> Option<CreateBlocked> {
    if role != Role::Owner {
        Some(CreateBlocked::OwnerRoleRequired)
    } else if !method.strong() {
        Some(CreateBlocked::MfaOrSsoRequired)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_with_strong_sessions_may_create() {
        use SessionMethod::*;

        assert_eq!(create_blocked_reason(Role::Owner, PasswordTotp), None);
        assert_eq!(create_blocked_reason(Role::Owner, Sso), None);
        assert_eq!(
            create_blocked_reason(Role::Owner, Password),
            Some(CreateBlocked::MfaOrSsoRequired)
        );
        assert_eq!(
            create_blocked_reason(Role::Member, Sso),
            Some(CreateBlocked::OwnerRoleRequired)
        );
        assert_eq!(
            create_blocked_reason(Role::Member, Password),
            Some(CreateBlocked::OwnerRoleRequired)
        );
    }
}
