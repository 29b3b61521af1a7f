//! Typed settings, built once from `serve`'s flags and `KEYMINT_*`
//! variables and passed down; nothing reads the environment later.
//!
//! Variables: `KEYMINT_DATABASE_URL`, `KEYMINT_LISTEN`, `KEYMINT_ISSUER`,
//! `KEYMINT_AUDIENCE`, `KEYMINT_KEYS_DIR`, `KEYMINT_SIGNING_ALG`,
//! `KEYMINT_KEY_ROTATION_DAYS`, `KEYMINT_TOKEN_TTL`, `KEYMINT_SESSION_TTL`,
//! `KEYMINT_AUTH_FAILURES_PER_MINUTE`, `KEYMINT_TRUSTED_PROXIES`, `KEYMINT_LOG`,
//! `KEYMINT_LOG_FORMAT`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

use crate::crypto::SigningAlgorithm;
use crate::http::client_addr::TrustedProxies;
use crate::storage::DatabaseUrl;

/// The settings as flags, shared by every command. Values are kept as text
/// here and checked in [`SettingsArgs::resolve`], so that a bad one gives a
/// single line naming the variable.
#[derive(Args, Debug, Clone)]
pub struct SettingsArgs {
    /// SQLite path, or `postgres://…` for PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_DATABASE_URL",
        default_value = "keymint.db",
        hide_env_values = true,
        hide_default_value = false
    )]
    pub database_url: String,
    /// Address the HTTP server binds.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: String,
    /// `iss` of tokens and base of metadata URLs [default: http://<listen>].
    #[arg(long, global = true, env = "KEYMINT_ISSUER")]
    pub issuer: Option<String>,
    /// `aud` of access tokens [default: <issuer>/api].
    #[arg(long, global = true, env = "KEYMINT_AUDIENCE")]
    pub audience: Option<String>,
    /// Directory of the master key that seals the signing keys.
    #[arg(long, global = true, env = "KEYMINT_KEYS_DIR", default_value = "keys")]
    pub keys_dir: PathBuf,
    /// Algorithm of new signing keys: ES256, EdDSA or RS256.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_SIGNING_ALG",
        default_value = "ES256"
    )]
    pub signing_alg: String,
    /// Age in days at which the signing key rotates; 0 turns it off.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_KEY_ROTATION_DAYS",
        default_value = "90"
    )]
    pub key_rotation_days: String,
    /// Access-token lifetime in seconds (60 to 86400).
    #[arg(long, global = true, env = "KEYMINT_TOKEN_TTL", default_value = "900")]
    pub token_ttl: String,
    /// Admin-session lifetime in seconds.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_SESSION_TTL",
        default_value = "28800"
    )]
    pub session_ttl: String,
    /// Failed authentications per source address and minute before 429; 0 is off.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_AUTH_FAILURES_PER_MINUTE",
        default_value = "60"
    )]
    pub auth_failures_per_minute: String,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose
    /// X-Forwarded-For gives the client's address; none by default.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_TRUSTED_PROXIES",
        default_value = ""
    )]
    pub trusted_proxies: String,
    /// Log filter in `tracing` EnvFilter syntax.
    #[arg(long, global = true, env = "KEYMINT_LOG", default_value = "info")]
    pub log: String,
    /// Log format: text or json.
    #[arg(
        long,
        global = true,
        env = "KEYMINT_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
}

/// A setting that failed validation; displays as one line naming it.
#[derive(Debug, thiserror::Error)]
#[error("invalid {variable} (--{flag}): {reason}")]
pub struct SettingError {
    variable: &'static str,
    flag: &'static str,
    reason: String,
}

impl SettingError {
    fn new(variable: &'static str, flag: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            flag,
            reason: reason.into(),
        }
    }

    /// `KEYMINT_LOG` did not parse as a filter.
    pub fn log_filter(err: &dyn std::fmt::Display) -> Self {
        let reason = err.to_string().replace('\n', " ");
        Self::new("KEYMINT_LOG", "log", reason)
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the data lives.
    pub database_url: DatabaseUrl,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// `iss` claim and base of metadata URLs, without a trailing slash.
    pub issuer: String,
    /// `aud` claim of access tokens.
    pub audience: String,
    /// Directory of the master key.
    pub keys_dir: PathBuf,
    /// Algorithm of newly generated signing keys.
    pub signing_alg: SigningAlgorithm,
    /// Rotation age in days; `None` when automatic rotation is off.
    pub key_rotation_days: Option<u32>,
    /// Access-token lifetime in seconds.
    pub token_ttl: u32,
    /// Admin-session lifetime in seconds.
    pub session_ttl: u32,
    /// Failed authentications per address and minute; `None` when off.
    pub auth_failures_per_minute: Option<u32>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Log filter.
    pub log: String,
    /// Log format.
    pub log_format: LogFormat,
}

fn number<T>(
    text: &str,
    variable: &'static str,
    flag: &'static str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, SettingError>
where
    T: FromStr + PartialOrd + std::fmt::Display,
{
    let value: T = text.trim().parse().map_err(|_| {
        SettingError::new(variable, flag, format!("`{text}` is not a whole number"))
    })?;
    if !range.contains(&value) {
        let reason = format!(
            "{value} is out of range ({} to {})",
            range.start(),
            range.end()
        );
        return Err(SettingError::new(variable, flag, reason));
    }
    Ok(value)
}

fn base_url(
    text: &str,
    variable: &'static str,
    flag: &'static str,
) -> Result<String, SettingError> {
    let bad = |reason: &str| SettingError::new(variable, flag, format!("`{text}` {reason}"));
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("has no host"));
    }
    if text.contains(['?', '#']) || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain a query, a fragment or white space"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

impl SettingsArgs {
    /// Checks every value and builds [`Settings`].
    pub fn resolve(&self) -> Result<Settings, SettingError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            let reason = format!("`{}` is not an address like 127.0.0.1:8080", self.listen);
            SettingError::new("KEYMINT_LISTEN", "listen", reason)
        })?;
        let issuer = match &self.issuer {
            Some(issuer) => base_url(issuer, "KEYMINT_ISSUER", "issuer")?,
            None => format!("http://{listen}"),
        };
        let audience = match &self.audience {
            Some(audience) if audience.trim().is_empty() => {
                return Err(SettingError::new(
                    "KEYMINT_AUDIENCE",
                    "audience",
                    "must not be empty",
                ));
            }
            Some(audience) => audience.clone(),
            None => format!("{issuer}/api"),
        };
        if self.database_url.trim().is_empty() {
            let reason = "must be a SQLite path or a postgres:// URL";
            return Err(SettingError::new(
                "KEYMINT_DATABASE_URL",
                "database-url",
                reason,
            ));
        }
        let signing_alg = self
            .signing_alg
            .parse()
            .map_err(|reason| SettingError::new("KEYMINT_SIGNING_ALG", "signing-alg", reason))?;
        let rotation = "KEYMINT_KEY_ROTATION_DAYS";
        let key_rotation_days = number(
            &self.key_rotation_days,
            rotation,
            "key-rotation-days",
            0..=36_500,
        )?;
        let failures = "KEYMINT_AUTH_FAILURES_PER_MINUTE";
        let auth_failures = number(
            &self.auth_failures_per_minute,
            failures,
            "auth-failures-per-minute",
            0..=1_000_000,
        )?;
        let trusted_proxies = self.trusted_proxies.parse().map_err(|reason| {
            SettingError::new("KEYMINT_TRUSTED_PROXIES", "trusted-proxies", reason)
        })?;
        let log_format = match self.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                let reason = format!("`{other}` is not one of text, json");
                return Err(SettingError::new(
                    "KEYMINT_LOG_FORMAT",
                    "log-format",
                    reason,
                ));
            }
        };
        Ok(Settings {
            database_url: DatabaseUrl::new(self.database_url.trim()),
            listen,
            issuer,
            audience,
            keys_dir: self.keys_dir.clone(),
            signing_alg,
            key_rotation_days: (key_rotation_days > 0).then_some(key_rotation_days),
            token_ttl: number(
                &self.token_ttl,
                "KEYMINT_TOKEN_TTL",
                "token-ttl",
                60..=86_400,
            )?,
            session_ttl: number(
                &self.session_ttl,
                "KEYMINT_SESSION_TTL",
                "session-ttl",
                60..=604_800,
            )?,
            auth_failures_per_minute: (auth_failures > 0).then_some(auth_failures),
            trusted_proxies,
            log: self.log.clone(),
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        settings: SettingsArgs,
    }

    fn resolve(args: &[&str]) -> Result<Settings, SettingError> {
        let mut argv = vec!["keymint"];
        argv.extend_from_slice(args);
        Harness::try_parse_from(argv).unwrap().settings.resolve()
    }

    #[test]
    fn defaults_follow_the_interface() {
        let settings = resolve(&["--listen", "127.0.0.1:9000"]).unwrap();

        assert_eq!(settings.issuer, "http://127.0.0.1:9000");
        assert_eq!(settings.audience, "http://127.0.0.1:9000/api");
        assert_eq!(settings.token_ttl, 900);
        assert_eq!(settings.signing_alg, SigningAlgorithm::Es256);
        assert_eq!(settings.key_rotation_days, Some(90));
    }

    #[test]
    fn bad_values_name_the_variable_on_one_line() {
        let cases: [(&[&str], &str); 6] = [
            (&["--token-ttl", "59"], "KEYMINT_TOKEN_TTL"),
            (&["--token-ttl", "ten"], "KEYMINT_TOKEN_TTL"),
            (&["--listen", "nowhere"], "KEYMINT_LISTEN"),
            (&["--issuer", "ftp://x"], "KEYMINT_ISSUER"),
            (&["--signing-alg", "HS256"], "KEYMINT_SIGNING_ALG"),
            (
                &["--trusted-proxies", "10.0.0.0/40"],
                "KEYMINT_TRUSTED_PROXIES",
            ),
        ];
        for (args, variable) in cases {
            let message = resolve(args).unwrap_err().to_string();

            assert!(message.contains(variable), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn issuer_loses_its_trailing_slash() {
        let settings = resolve(&["--issuer", "https://auth.example.com/"]).unwrap();

        assert_eq!(settings.issuer, "https://auth.example.com");
        assert_eq!(settings.audience, "https://auth.example.com/api");
    }
}
