//! Slowing and refusing repeated failed authentications: admin logins,
//! SSO logins, and client authentication at the token and introspection
//! endpoints, which share the per-address counter.
//!
//! Policy:
//! - per source address: `KEYMINT_AUTH_FAILURES_PER_MINUTE` failures in a
//!   minute, delayed from half of that, then refused with 429 and
//!   `Retry-After` until the minute ends;
//! - per email: from 5 failures in 15 minutes each attempt is delayed (up to
//!   2 s) but never refused, so an attacker spread over many addresses can
//!   slow a real owner's sign-in but never lock them out.

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::http::problem::Problem;
use crate::ratelimit::{Decision, FailureLimiter};

/// Keys kept per limiter; beyond this the oldest windows are dropped.
const MAX_KEYS: usize = 100_000;
/// Failures per email before delays grow to the 2 s cap.
const EMAIL_FAILURES: u32 = 10;
/// Window of the per-email counter.
const EMAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The limiters, shared by every worker.
#[derive(Debug)]
pub struct AuthLimits {
    per_ip: Option<FailureLimiter>,
    per_email: FailureLimiter,
}

impl AuthLimits {
    /// Limits as the settings ask (`None` turns the per-address one off).
    pub fn new(settings: &Settings) -> Self {
        let per_ip = settings
            .auth_failures_per_minute
            .map(|limit| FailureLimiter::new(limit, Duration::from_secs(60), MAX_KEYS));
        let per_email = FailureLimiter::slow_only(EMAIL_FAILURES, EMAIL_WINDOW, MAX_KEYS);
        Self { per_ip, per_email }
    }

    /// Waits as long as the counters ask, or refuses with 429.
    pub async fn gate(&self, ip: &str, email: Option<&str>) -> Result<(), Problem> {
        let now = Instant::now();
        let by_ip = self
            .per_ip
            .as_ref()
            .map_or(Decision::Allow, |limiter| limiter.check(ip, now));
        let by_email = email.map_or(Decision::Allow, |email| self.per_email.check(email, now));
        let mut delay = Duration::ZERO;
        for decision in [by_ip, by_email] {
            match decision {
                Decision::Allow => {}
                Decision::Delay(wait) => delay = delay.max(wait),
                Decision::Refuse { retry_after } => {
                    tracing::info!(
                        retry_after_secs = retry_after.as_secs(),
                        "authentication refused: too many failures"
                    );
                    return Err(Problem::too_many_requests(retry_after.as_secs().max(1)));
                }
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Counts a failed client authentication from `ip` and says how to
    /// answer it: at once, after a delay once the address has failed often,
    /// or — at the limit — with 429 and this many seconds to wait. Only
    /// failures come here: a client presenting its correct secret is
    /// authenticated first and never refused for others' failures.
    pub async fn client_failed(&self, ip: &str) -> Option<u64> {
        let limiter = self.per_ip.as_ref()?;
        let now = Instant::now();
        // Decided on the failures before this one, so the address's first
        // `limit` failures are answered (if slowly) and the next is refused.
        let decision = limiter.check(ip, now);
        limiter.record_failure(ip, now);
        match decision {
            Decision::Allow => None,
            Decision::Delay(wait) => {
                tokio::time::sleep(wait).await;
                None
            }
            Decision::Refuse { retry_after } => Some(retry_after.as_secs().max(1)),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, ip: &str, email: Option<&str>) {
        let now = Instant::now();
        if let Some(limiter) = &self.per_ip {
            limiter.record_failure(ip, now);
        }
        if let Some(email) = email {
            self.per_email.record_failure(email, now);
        }
    }

    /// Clears the email's counter after a successful sign-in. The address
    /// counter is kept, so an attacker cannot reset it with an account of
    /// their own.
    pub fn succeeded(&self, email: &str) {
        self.per_email.record_success(email);
    }
}
