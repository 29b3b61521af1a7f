//! Prometheus metrics. Label values are bounded: outcomes and statuses are
//! fixed sets, routes are patterns (`/admin/v1/clients/{id}`), never ids.
//!
//! Counters on the token path are resolved once at start-up, so recording
//! an outcome is one atomic add and no label lookup.

use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Token-endpoint outcomes, as `outcome` label values.
pub const TOKEN_OUTCOMES: [&str; 8] = [
    "issued",
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "too_many_requests",
    "temporarily_unavailable",
    "server_error",
];

/// Every metric keymint exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    token_outcomes: Vec<IntCounter>,
    token_latency: Histogram,
    admin_requests: IntCounterVec,
    http_requests: IntCounterVec,
    /// Connections handed out by the pool.
    pub db_in_use: IntGauge,
    /// Idle connections in the pool.
    pub db_idle: IntGauge,
    /// Requests waiting for a connection.
    pub db_waiting: IntGauge,
    /// Age of the signing key in seconds.
    pub signing_key_age: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn registered<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: T,
) -> T {
    // Registration fails only for duplicate names, which are fixed here.
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

impl Metrics {
    /// Creates and registers every metric.
    #[expect(
        clippy::expect_used,
        reason = "metric definitions are constants known to be valid"
    )]
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("keymint".into()), None).expect("valid prefix");
        let token_requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new("token_requests_total", "Token requests by outcome."),
                &["outcome"],
            )
            .expect("valid metric"),
        );
        let token_outcomes = TOKEN_OUTCOMES
            .iter()
            .map(|outcome| token_requests.with_label_values(&[outcome]))
            .collect();
        let buckets = vec![
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
        ];
        let token_latency = registered(
            &registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "token_request_duration_seconds",
                    "Time to answer a token request.",
                )
                .buckets(buckets),
            )
            .expect("valid metric"),
        );
        let admin_requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "admin_requests_total",
                    "Admin API requests by route pattern and status.",
                ),
                &["route", "status"],
            )
            .expect("valid metric"),
        );
        let http_requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests by status class."),
                &["class"],
            )
            .expect("valid metric"),
        );
        let gauge = |name: &str, help: &str| {
            registered(&registry, IntGauge::new(name, help).expect("valid metric"))
        };
        Self {
            db_in_use: gauge("db_pool_connections_in_use", "Database connections in use."),
            db_idle: gauge("db_pool_connections_idle", "Idle database connections."),
            db_waiting: gauge(
                "db_pool_waiting",
                "Requests waiting for a database connection.",
            ),
            signing_key_age: gauge("signing_key_age_seconds", "Age of the current signing key."),
            token_outcomes,
            token_latency,
            admin_requests,
            http_requests,
            registry,
        }
    }

    /// Counts a token request and its latency. `outcome` is one of
    /// [`TOKEN_OUTCOMES`]; anything else counts as `server_error`.
    pub fn token_request(&self, outcome: &str, elapsed: Duration) {
        let index = TOKEN_OUTCOMES
            .iter()
            .position(|known| *known == outcome)
            .unwrap_or(7);
        if let Some(counter) = self.token_outcomes.get(index) {
            counter.inc();
        }
        self.token_latency.observe(elapsed.as_secs_f64());
    }

    /// Counts a finished HTTP request; admin routes also by pattern.
    pub fn http_request(&self, route: &str, status: u16) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests.with_label_values(&[class]).inc();
        if route.starts_with("/admin/v1") {
            let status = status.to_string();
            self.admin_requests
                .with_label_values(&[route, &status])
                .inc();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_routes_are_counted() {
        let metrics = Metrics::new();

        metrics.token_request("issued", Duration::from_micros(80));
        metrics.token_request("invalid_client", Duration::from_micros(80));
        metrics.http_request("/admin/v1/clients/{id}", 404);

        let text = metrics.render();
        assert!(
            text.contains(r#"keymint_token_requests_total{outcome="issued"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"keymint_token_requests_total{outcome="invalid_client"} 1"#));
        assert!(text.contains(
            r#"keymint_admin_requests_total{route="/admin/v1/clients/{id}",status="404"} 1"#
        ));
        assert!(text.contains("keymint_token_request_duration_seconds_count 2"));
    }
}
