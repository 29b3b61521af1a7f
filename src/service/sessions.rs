//! Admin sessions: password (and TOTP) logins, looking a session up from
//! its bearer token, and logging out.
//!
//! A wrong email and a wrong password end the same way and cost the same
//! work: an unknown email is checked against a dummy argon2id hash.

use std::sync::LazyLock;

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use crate::crypto::master_key::Purpose;
use crate::crypto::totp::{self, TotpSecret};
use crate::crypto::{MasterKey, SessionToken, password};
use crate::domain::{Role, SessionId, SessionMethod};
use crate::service::audit::{self, Actor, Event};
use crate::service::users::normalise_email;
use crate::storage::accounts::AccountRow;
use crate::storage::sessions::{self, NewSession};
use crate::storage::users::{self, UserRow};
use crate::storage::{self, DbConnection, StorageError};

/// A session just opened; the only time its token is shown.
#[derive(Debug)]
pub struct OpenedSession {
    /// The bearer token.
    pub token: SessionToken,
    /// End of validity.
    pub expires_at: NaiveDateTime,
    /// How it was established.
    pub method: SessionMethod,
    /// Whether a second factor was proven.
    pub mfa: bool,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, wrong or replayed TOTP code, or an
    /// ID token that does not check out: all answered alike.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password was right but the user has TOTP and sent no code.
    #[error("a TOTP code is required")]
    OtpRequired,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for LoginError {
    fn from(err: diesel::result::Error) -> Self {
        LoginError::Storage(err.into())
    }
}

/// A password login as presented.
#[derive(Debug)]
pub struct PasswordLogin<'a> {
    /// Email as typed.
    pub email: &'a str,
    /// Password in clear (never logged).
    pub password: &'a str,
    /// TOTP code, if sent.
    pub otp: Option<&'a str>,
}

/// The signed-in user behind a live session.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// The session's id.
    pub session_id: String,
    /// How it was established.
    pub method: SessionMethod,
    /// Whether a second factor was proven.
    pub mfa: bool,
    /// End of validity.
    pub expires_at: NaiveDateTime,
    /// The user.
    pub user: UserRow,
    /// The user's role.
    pub role: Role,
    /// The user's account.
    pub account: AccountRow,
}

/// A hash no password matches, checked for unknown emails so that they
/// take as long as known ones.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash(&crate::crypto::random::token::<16>()).unwrap_or_default());

/// Logs a user in with email, password and, when TOTP is on, a code.
pub fn login_password(
    conn: &mut DbConnection,
    master: &MasterKey,
    login: &PasswordLogin<'_>,
    ttl: u32,
    source_ip: Option<&str>,
) -> Result<OpenedSession, LoginError> {
    let user = match normalise_email(login.email) {
        Some(email) => users::find_by_email(conn, &email)?,
        None => None,
    };
    let stored_hash = user
        .as_ref()
        .map_or(DUMMY_HASH.as_str(), |u| u.password_hash.as_str());
    let password_ok = password::verify(login.password, stored_hash);
    // The same reason for both, so the trail never tells an owner which
    // addresses someone probed; the target says whether the email was known.
    let Some(user) = user else {
        return Err(refuse(conn, None, "wrong_email_or_password", source_ip));
    };
    if !password_ok {
        return Err(refuse(
            conn,
            Some(&user),
            "wrong_email_or_password",
            source_ip,
        ));
    }

    let method = if user.totp_enabled() {
        let Some(code) = login.otp else {
            record_login(conn, &user, "login.otp_required", source_ip, None)?;
            return Err(LoginError::OtpRequired);
        };
        if !accept_totp(conn, master, &user, code)? {
            // The password was right, so the user is the actor here.
            let recorded = record_failure(
                conn,
                &Actor::User(user.id.clone()),
                Some(&user),
                "wrong_or_replayed_otp",
                source_ip,
            );
            return Err(recorded);
        }
        SessionMethod::PasswordTotp
    } else {
        SessionMethod::Password
    };

    let opened = open(
        conn,
        &user,
        method,
        method == SessionMethod::PasswordTotp,
        ttl,
        source_ip,
    )?;
    record_login(conn, &user, "login.succeeded", source_ip, Some(method))?;
    Ok(opened)
}

/// Checks a TOTP code and marks its step used; a code already accepted (or
/// an older one) is refused.
fn accept_totp(
    conn: &mut DbConnection,
    master: &MasterKey,
    user: &UserRow,
    code: &str,
) -> Result<bool, LoginError> {
    let sealed = user.totp_secret.as_deref().unwrap_or_default();
    let secret = open_totp_secret(master, &user.id, sealed)?;
    let Some(step) = totp::verify(&secret, code, chrono::Utc::now().timestamp()) else {
        return Ok(false);
    };
    let step = i64::try_from(step).map_err(|_| StorageError::Corrupt("TOTP step".into()))?;
    Ok(users::accept_totp_step(conn, &user.id, step)?)
}

/// Opens a sealed TOTP secret of `user_id`.
pub fn open_totp_secret(
    master: &MasterKey,
    user_id: &str,
    sealed: &str,
) -> Result<TotpSecret, StorageError> {
    master
        .open(Purpose::TotpSecrets, user_id, sealed)
        .ok()
        .and_then(TotpSecret::from_bytes)
        .ok_or_else(|| StorageError::Corrupt(format!("TOTP secret of user {user_id}")))
}

/// Records a failed login by someone who proved nothing and returns the
/// error to answer with: the actor is anonymous, the user the attempt was
/// for is the target, and their account's owners see it.
fn refuse(
    conn: &mut DbConnection,
    user: Option<&UserRow>,
    reason: &str,
    source_ip: Option<&str>,
) -> LoginError {
    record_failure(conn, &Actor::Anonymous, user, reason, source_ip)
}

/// Records a failed login by `actor` and returns the error to answer with.
fn record_failure(
    conn: &mut DbConnection,
    actor: &Actor,
    user: Option<&UserRow>,
    reason: &str,
    source_ip: Option<&str>,
) -> LoginError {
    let recorded = audit::record(
        conn,
        &Event {
            actor,
            account_id: user.map(|u| u.account_id.as_str()),
            action: "login.failed",
            target: user.map(|u| u.id.as_str()),
            source_ip,
            detail: Some(json!({ "reason": reason })),
        },
    );
    tracing::info!(
        user.id = user.map(|u| u.id.as_str()),
        reason,
        "login refused"
    );
    match recorded {
        Ok(()) => LoginError::InvalidCredentials,
        Err(err) => LoginError::Storage(err.into()),
    }
}

/// Records a login step of a known user.
pub fn record_login(
    conn: &mut DbConnection,
    user: &UserRow,
    action: &str,
    source_ip: Option<&str>,
    method: Option<SessionMethod>,
) -> diesel::QueryResult<()> {
    tracing::info!(user.id = %user.id, account.id = %user.account_id, action, "login event");
    audit::record(
        conn,
        &Event {
            actor: &Actor::User(user.id.clone()),
            account_id: Some(&user.account_id),
            action,
            target: Some(&user.id),
            source_ip,
            detail: method.map(|method| json!({ "method": method })),
        },
    )
}

/// Opens a session for `user`.
pub fn open(
    conn: &mut DbConnection,
    user: &UserRow,
    method: SessionMethod,
    mfa: bool,
    ttl: u32,
    source_ip: Option<&str>,
) -> Result<OpenedSession, StorageError> {
    let token = SessionToken::generate();
    let created_at = storage::now();
    let expires_at = created_at + TimeDelta::seconds(i64::from(ttl));
    let id = SessionId::generate();
    sessions::insert(
        conn,
        &NewSession {
            id: id.as_str(),
            token_hash: &token.hash(),
            user_id: &user.id,
            method: method.as_str(),
            mfa,
            created_at,
            expires_at,
            source_ip,
        },
    )?;
    Ok(OpenedSession {
        token,
        expires_at,
        method,
        mfa,
    })
}

/// The live session behind a presented bearer token, if any.
pub fn authenticate(
    conn: &mut DbConnection,
    presented: &str,
) -> Result<Option<SessionContext>, StorageError> {
    let Some(token) = SessionToken::parse(presented) else {
        return Ok(None);
    };
    let Some((session, user, account)) = sessions::find_live(conn, &token.hash(), storage::now())?
    else {
        return Ok(None);
    };
    let corrupt = |what: &str| StorageError::Corrupt(format!("{what} of session {}", session.id));
    let method = SessionMethod::parse(&session.method).ok_or_else(|| corrupt("method"))?;
    let role: Role = user.role.parse().map_err(|_| corrupt("user role"))?;
    Ok(Some(SessionContext {
        session_id: session.id,
        method,
        mfa: session.mfa,
        expires_at: session.expires_at,
        user,
        role,
        account,
    }))
}

/// Ends the session (logout) and records it.
pub fn logout(
    conn: &mut DbConnection,
    context: &SessionContext,
    source_ip: Option<&str>,
) -> Result<(), StorageError> {
    sessions::end(conn, &context.session_id, storage::now())?;
    record_login(conn, &context.user, "logout", source_ip, None)?;
    Ok(())
}
