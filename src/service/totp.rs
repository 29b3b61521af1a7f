//! TOTP enrolment (RFC 6238): start with a new secret, confirm with a code.
//! The secret is sealed under the master key before it is stored.

use crate::crypto::MasterKey;
use crate::crypto::master_key::Purpose;
use crate::crypto::totp::{self, TotpSecret};
use crate::service::audit::{self, Actor, Event};
use crate::service::sessions::{SessionContext, open_totp_secret};
use crate::storage::users;
use crate::storage::{DbConnection, StorageError};

/// Issuer label shown in authenticator apps.
const ISSUER: &str = "keymint";

/// A secret being enrolled, shown to the user once.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI for QR codes.
    pub otpauth_uri: String,
}

/// Why an enrolment step failed.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// TOTP is already on for this user.
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    /// Confirmation without a started enrolment.
    #[error("no TOTP enrolment was started")]
    NotStarted,
    /// The code does not match the pending secret.
    #[error("the code does not match")]
    InvalidCode,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for TotpError {
    fn from(err: diesel::result::Error) -> Self {
        TotpError::Storage(err.into())
    }
}

/// Starts (or restarts) enrolment with a new secret.
pub fn start(
    conn: &mut DbConnection,
    master: &MasterKey,
    context: &SessionContext,
    source_ip: Option<&str>,
) -> Result<Enrolment, TotpError> {
    if context.user.totp_enabled() {
        return Err(TotpError::AlreadyEnabled);
    }
    let secret = TotpSecret::generate();
    let sealed = master.seal(
        Purpose::TotpSecrets,
        &context.user.id,
        secret.expose_bytes(),
    );
    users::set_totp_pending(conn, &context.user.id, &sealed)?;
    record(conn, context, "totp.enrolment_started", source_ip)?;
    Ok(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: secret.otpauth_uri(ISSUER, &context.user.email),
    })
}

/// Confirms enrolment with a code from the pending secret; later logins
/// need a code. The code's step counts as used.
pub fn confirm(
    conn: &mut DbConnection,
    master: &MasterKey,
    context: &SessionContext,
    code: &str,
    source_ip: Option<&str>,
) -> Result<(), TotpError> {
    if context.user.totp_enabled() {
        return Err(TotpError::AlreadyEnabled);
    }
    let Some(sealed) = context.user.totp_pending.as_deref() else {
        return Err(TotpError::NotStarted);
    };
    let secret = open_totp_secret(master, &context.user.id, sealed)?;
    let step = totp::verify(&secret, code, chrono::Utc::now().timestamp())
        .and_then(|step| i64::try_from(step).ok())
        .ok_or(TotpError::InvalidCode)?;
    if !users::enable_totp(conn, &context.user.id, sealed, step)? {
        return Err(TotpError::NotStarted);
    }
    record(conn, context, "totp.enabled", source_ip)?;
    Ok(())
}

fn record(
    conn: &mut DbConnection,
    context: &SessionContext,
    action: &str,
    source_ip: Option<&str>,
) -> diesel::QueryResult<()> {
    tracing::info!(user.id = %context.user.id, action, "TOTP enrolment");
    audit::record(
        conn,
        &Event {
            actor: &Actor::User(context.user.id.clone()),
            account_id: Some(&context.account.id),
            action,
            target: Some(&context.user.id),
            source_ip,
            detail: None,
        },
    )
}
