//! [`Verifier`]: [`validate`] over a JWKS fetched from keymint and cached.
//!
//! The JWKS is cached for its `Cache-Control: max-age` (clamped to between
//! one minute and one day; five minutes when absent) and refreshed in the
//! background before that runs out. A token with an unknown `kid` makes the
//! verifier refetch at once, but at most once per
//! [`VerifierConfig::min_refetch_interval`]; a key rotation reaches a
//! verifier through the JWKS long before tokens are signed with it, so the
//! refetch is a fallback, not the normal path.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use reqwest::header::{CACHE_CONTROL, HeaderMap};

use crate::verify::keys::KeyCache;
use crate::verify::rules::{Rules, VerifyError, validate};
use crate::verify::{AccessClaims, ring_provider};

/// Where to find keymint and what its tokens must match.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// What a token must match.
    pub rules: Rules,
    /// The JWKS URL; `None` to discover it from
    /// `<issuer>/.well-known/oauth-authorization-server`.
    pub jwks_uri: Option<String>,
    /// The least time between two fetches triggered by unknown key ids.
    pub min_refetch_interval: Duration,
    /// How long to cache a JWKS served without `max-age`.
    pub default_max_age: Duration,
}

impl VerifierConfig {
    /// Configuration for tokens of `issuer` addressed to `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            rules: Rules::new(issuer, audience),
            jwks_uri: None,
            min_refetch_interval: Duration::from_secs(10),
            default_max_age: Duration::from_secs(300),
        }
    }
}

struct Cached {
    keys: KeyCache,
    expires: Instant,
}

/// Verifies keymint access tokens against its published keys.
pub struct Verifier {
    config: VerifierConfig,
    jwks_uri: String,
    http: reqwest::Client,
    cache: ArcSwap<Cached>,
    last_fetch: Mutex<Instant>,
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("jwks_uri", &self.jwks_uri)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: impl std::fmt::Display) -> VerifyError {
    VerifyError::KeysUnavailable(err.to_string())
}

/// `max-age` of a `Cache-Control` header, if any.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        let seconds = seconds.trim().trim_matches('"').parse().ok()?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| Duration::from_secs(seconds))
    })
}

impl Verifier {
    /// Discovers the JWKS (unless configured), fetches it once and returns a
    /// ready verifier.
    pub async fn connect(config: VerifierConfig) -> Result<Arc<Self>, VerifyError> {
        ring_provider::install();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(unavailable)?;
        let jwks_uri = match &config.jwks_uri {
            Some(uri) => uri.clone(),
            None => discover(&http, &config.rules.issuer).await?,
        };
        let (keys, expires) = fetch(&http, &jwks_uri, config.default_max_age).await?;
        Ok(Arc::new(Self {
            cache: ArcSwap::from_pointee(Cached { keys, expires }),
            last_fetch: Mutex::new(Instant::now()),
            fetching: tokio::sync::Mutex::new(()),
            config,
            jwks_uri,
            http,
        }))
    }

    /// The JWKS URL in use.
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    /// Checks a token against the cached keys only; never fetches. This is
    /// the microsecond path.
    pub fn verify_cached(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        validate(token, &self.cache.load().keys, &self.config.rules)
    }

    /// Checks a token, refreshing the keys first if their cache time ran
    /// out, and refetching once (rate-limited) on an unknown `kid`.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        // Stale keys still verify when keymint is briefly away; a refresh is
        // tried at most once per interval, by one caller at a time.
        if self.cache.load().expires <= Instant::now()
            && self.claim_refetch()
            && let Err(err) = self.refresh_if_stale().await
        {
            tracing::warn!(error = %err, "JWKS refresh failed; using the cached keys");
        }
        match self.verify_cached(token) {
            Err(VerifyError::UnknownKey) if self.claim_refetch() => {
                self.refresh().await?;
                self.verify_cached(token)
            }
            other => other,
        }
    }

    /// Whether an unknown-`kid` refetch may happen now; claims the slot.
    fn claim_refetch(&self) -> bool {
        let mut last = self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let allowed = last.elapsed() >= self.config.min_refetch_interval;
        if allowed {
            *last = Instant::now();
        }
        allowed
    }

    /// Fetches the JWKS unless another caller refreshed it while this one
    /// waited for its turn.
    async fn refresh_if_stale(&self) -> Result<(), VerifyError> {
        let _one_at_a_time = self.fetching.lock().await;
        if self.cache.load().expires > Instant::now() {
            return Ok(());
        }
        self.fetch_and_store().await
    }

    /// Fetches the JWKS now and swaps it in.
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        let _one_at_a_time = self.fetching.lock().await;
        self.fetch_and_store().await
    }

    async fn fetch_and_store(&self) -> Result<(), VerifyError> {
        let (keys, expires) =
            fetch(&self.http, &self.jwks_uri, self.config.default_max_age).await?;
        *self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.cache.store(Arc::new(Cached { keys, expires }));
        Ok(())
    }

    /// Keeps the keys fresh in the background: refreshes at four fifths of
    /// each cache lifetime, and every ten seconds while fetching fails.
    /// Needs a Tokio runtime; the task ends when the verifier is dropped.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let wait = match weak.upgrade() {
                    Some(verifier) => {
                        let left = verifier
                            .cache
                            .load()
                            .expires
                            .saturating_duration_since(Instant::now());
                        left.mul_f32(0.8).max(Duration::from_secs(1))
                    }
                    None => return,
                };
                tokio::time::sleep(wait).await;
                let Some(verifier) = weak.upgrade() else {
                    return;
                };
                if let Err(err) = verifier.refresh().await {
                    tracing::warn!(error = %err, "background JWKS refresh failed");
                    drop(verifier);
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        })
    }
}

async fn discover(http: &reqwest::Client, issuer: &str) -> Result<String, VerifyError> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        jwks_uri: String,
    }
    let url = format!(
        "{}/.well-known/oauth-authorization-server",
        issuer.trim_end_matches('/')
    );
    let response = http.get(&url).send().await.map_err(unavailable)?;
    let response = response.error_for_status().map_err(unavailable)?;
    Ok(response
        .json::<Metadata>()
        .await
        .map_err(unavailable)?
        .jwks_uri)
}

async fn fetch(
    http: &reqwest::Client,
    uri: &str,
    default_max_age: Duration,
) -> Result<(KeyCache, Instant), VerifyError> {
    let response = http.get(uri).send().await.map_err(unavailable)?;
    let response = response.error_for_status().map_err(unavailable)?;
    let lifetime = max_age(response.headers())
        .unwrap_or(default_max_age)
        .clamp(Duration::from_secs(60), Duration::from_secs(86_400));
    let body = response.bytes().await.map_err(unavailable)?;
    let keys = KeyCache::from_json(&body).map_err(unavailable)?;
    tracing::debug!(
        keys = keys.len(),
        lifetime_secs = lifetime.as_secs(),
        "fetched the JWKS"
    );
    Ok((keys, Instant::now() + lifetime))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );

        assert_eq!(max_age(&headers), Some(Duration::from_secs(300)));

        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(max_age(&headers), None);
    }
}
