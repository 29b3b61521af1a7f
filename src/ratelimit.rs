//! In-memory limits on failed attempts (logins, client authentication at
//! the token endpoint), counted per key such as an IP address or
//! `email|ip`.
//!
//! Each key gets a fixed window that opens at its first failure. Below half
//! the limit a key is let through; from half the limit answers are delayed,
//! 100 ms doubling up to 2 s; at the limit the key is refused until its
//! window ends. A [`FailureLimiter::slow_only`] limiter never refuses, so an
//! attacker can slow a real owner down but never lock them out.
//!
//! The state lives in this process only: with N instances behind a load
//! balancer each counts on its own, so the effective limit is N times the
//! setting, and a restart forgets every count. Memory is bounded: at most
//! `max_keys` keys (rounded down to a multiple of 16, and at least 16) are
//! kept; when full, ended windows are dropped first and then the oldest
//! window, so a flood of distinct keys can push real counts out but cannot
//! exhaust memory.
//!
//! This module must not know about HTTP: callers turn a [`Decision`] into
//! a sleep or an error response.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// Doublings after which [`FIRST_DELAY`] has passed [`MAX_DELAY`].
const MAX_DOUBLINGS: u32 = 5;

/// What to do with an attempt from a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Go ahead after waiting this long.
    Delay(Duration),
    /// Refuse the attempt without checking it.
    Refuse {
        /// Time until the key's window ends, in whole seconds (at least 1),
        /// ready for a `Retry-After` header.
        retry_after: Duration,
    },
}

/// Failures of one key within its current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    failures: u32,
}

impl Window {
    /// Time left before the window ends; zero once it has ended.
    fn remaining(&self, length: Duration, now: Instant) -> Duration {
        length.saturating_sub(now.saturating_duration_since(self.start))
    }
}

type Shard = HashMap<String, Window>;

/// Counts failures per key in fixed windows and decides whether the next
/// attempt may go ahead. Shared across threads; its `Debug` shows the
/// settings but no keys.
pub struct FailureLimiter {
    limit: u32,
    window: Duration,
    refuses: bool,

    shard_capacity: usize,
    hasher: RandomState,
    shards: [Mutex<Shard>; SHARDS],
}

impl FailureLimiter {
    /// A limiter that delays keys from `limit / 2` failures within `window`
    /// and refuses them from `limit` failures, keeping at most about
    /// `max_keys` keys. A `limit` of 0 counts as 1.
    pub fn new(limit: u32, window: Duration, max_keys: usize) -> Self {
        Self::build(limit, window, max_keys, true)
    }

    /// Like [`FailureLimiter::new`], but past the limit it keeps delaying
    /// (at most 2 s) instead of refusing: for keys an attacker could pick,
    /// such as an email address, where refusing would lock the owner out.
    pub fn slow_only(limit: u32, window: Duration, max_keys: usize) -> Self {
        Self::build(limit, window, max_keys, false)
    }

    fn build(limit: u32, window: Duration, max_keys: usize, refuses: bool) -> Self {
        Self {
            limit: limit.max(1),
            window,
            refuses,
            shard_capacity: (max_keys / SHARDS).max(1),
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    /// Whether an attempt from `key` at `now` may go ahead.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let mut shard = self.shard(key);
        let Some(window) = shard.get(key).copied() else {
            return Decision::Allow;
        };
        let remaining = window.remaining(self.window, now);
        if remaining.is_zero() {
            shard.remove(key);
            return Decision::Allow;
        }
        drop(shard);
        self.decide(window.failures, remaining)
    }

    /// Counts a failed attempt from `key` at `now`, opening a new window if
    /// the key has none or its window has ended.
    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut shard = self.shard(key);
        if let Some(window) = shard.get_mut(key) {
            if window.remaining(self.window, now).is_zero() {
                *window = Window {
                    start: now,
                    failures: 1,
                };
            } else {
                window.failures = window.failures.saturating_add(1);
            }
            return;
        }
        make_room(&mut shard, self.shard_capacity, self.window, now);
        let window = Window {
            start: now,
            failures: 1,
        };
        shard.insert(key.to_owned(), window);
    }

    /// Forgets `key` after a successful attempt.
    pub fn record_success(&self, key: &str) {
        self.shard(key).remove(key);
    }

    /// How many keys are held, ended windows included until they are
    /// dropped.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn decide(&self, failures: u32, remaining: Duration) -> Decision {
        if u64::from(failures) * 2 < u64::from(self.limit) {
            return Decision::Allow;
        }
        if self.refuses && failures >= self.limit {
            return Decision::Refuse {
                retry_after: round_up_to_seconds(remaining),
            };
        }
        let doublings = failures
            .saturating_sub(self.limit.div_ceil(2))
            .min(MAX_DOUBLINGS);
        Decision::Delay((FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY))
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        #[expect(
            clippy::indexing_slicing,
            reason = "the index is reduced modulo the shard count"
        )]
        lock(&self.shards[index])
    }
}

impl fmt::Debug for FailureLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailureLimiter")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("refuses", &self.refuses)
            .field("max_keys", &(self.shard_capacity * SHARDS))
            .finish_non_exhaustive()
    }
}

/// Locks a shard even if a thread panicked while holding it: the map holds
/// only counters, and a slightly wrong count beats taking logins down.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Frees a slot in a full shard: drops ended windows, and if that is not
/// enough, the window that started first.
fn make_room(shard: &mut Shard, capacity: usize, length: Duration, now: Instant) {
    if shard.len() < capacity {
        return;
    }
    shard.retain(|_, window| !window.remaining(length, now).is_zero());
    while shard.len() >= capacity {
        let oldest = shard
            .iter()
            .min_by_key(|(_, window)| window.start)
            .map(|(key, _)| key.clone());
        let Some(oldest) = oldest else { break };
        shard.remove(&oldest);
    }
}

/// Whole seconds, rounded up, and never less than one, as `Retry-After`
/// (RFC 9110 §10.2.3) counts in seconds and 0 would invite an instant retry.
fn round_up_to_seconds(duration: Duration) -> Duration {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    Duration::from_secs(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn fail(limiter: &FailureLimiter, key: &str, times: u32, now: Instant) {
        for _ in 0..times {
            limiter.record_failure(key, now);
        }
    }

    fn ms(millis: u64) -> Decision {
        Decision::Delay(Duration::from_millis(millis))
    }

    #[test]
    fn failures_allow_then_delay_then_refuse() {
        let limiter = FailureLimiter::new(10, MINUTE, 1_000);
        let start = Instant::now();
        let mut seen = Vec::new();

        for _ in 0..=10 {
            seen.push(limiter.check("10.0.0.1", start));
            limiter.record_failure("10.0.0.1", start);
        }

        let refuse = Decision::Refuse {
            retry_after: MINUTE,
        };
        let mut expected = vec![Decision::Allow; 5]; // 0 to 4 failures
        expected.extend([100, 200, 400, 800, 1_600].map(ms)); // 5 to 9
        expected.push(refuse); // 10
        assert_eq!(seen, expected);
        assert_eq!(limiter.check("10.0.0.2", start), Decision::Allow);
    }

    #[test]
    fn delay_is_capped_at_two_seconds() {
        let limiter = FailureLimiter::new(30, MINUTE, 1_000);
        let start = Instant::now();

        fail(&limiter, "k", 20, start);

        assert_eq!(limiter.check("k", start), ms(2_000));
    }

    #[test]
    fn odd_limit_delays_from_the_upper_half() {
        let limiter = FailureLimiter::new(5, MINUTE, 1_000);
        let start = Instant::now();

        fail(&limiter, "k", 2, start);
        let two = limiter.check("k", start);
        fail(&limiter, "k", 1, start);
        let three = limiter.check("k", start);

        assert_eq!(two, Decision::Allow);
        assert_eq!(three, ms(100));
    }

    #[test]
    fn ended_window_resets_the_key() {
        let limiter = FailureLimiter::new(4, MINUTE, 1_000);
        let start = Instant::now();
        fail(&limiter, "k", 4, start);

        let just_before = limiter.check("k", start + MINUTE - Duration::from_millis(1));
        let after = limiter.check("k", start + MINUTE);
        fail(&limiter, "k", 2, start + MINUTE);
        let fresh = limiter.check("k", start + MINUTE);

        assert!(matches!(just_before, Decision::Refuse { .. }));
        assert_eq!(after, Decision::Allow);
        assert_eq!(fresh, ms(100));
    }

    #[test]
    fn failure_after_an_ended_window_opens_a_new_one() {
        let limiter = FailureLimiter::new(2, MINUTE, 1_000);
        let start = Instant::now();
        fail(&limiter, "k", 2, start);

        limiter.record_failure("k", start + 2 * MINUTE);

        assert_eq!(limiter.check("k", start + 2 * MINUTE), ms(100));
    }

    #[test]
    fn success_clears_the_key() {
        let limiter = FailureLimiter::new(4, MINUTE, 1_000);
        let start = Instant::now();
        fail(&limiter, "k", 4, start);

        limiter.record_success("k");

        assert_eq!(limiter.check("k", start), Decision::Allow);
        assert!(limiter.is_empty());
    }

    #[test]
    fn slow_only_never_refuses() {
        let limiter = FailureLimiter::slow_only(10, MINUTE, 1_000);
        let start = Instant::now();

        fail(&limiter, "owner@example.com", 9, start);
        let below = limiter.check("owner@example.com", start);
        fail(&limiter, "owner@example.com", 1_000, start);
        let far_above = limiter.check("owner@example.com", start);

        assert_eq!(below, ms(1_600));
        assert_eq!(far_above, ms(2_000));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_keys() {
        let max_keys = 160;
        let limiter = FailureLimiter::new(5, MINUTE, max_keys);
        let start = Instant::now();

        for i in 0..10 * max_keys {
            limiter.record_failure(&format!("key-{i}"), start);
            assert!(limiter.len() <= max_keys, "after {i} keys");
        }

        assert!(limiter.len() > max_keys / 2);
    }

    #[test]
    fn full_shard_drops_ended_windows_first_then_the_oldest() {
        let base = Instant::now();
        let now = base + Duration::from_secs(120);
        let mut shard = Shard::new();
        for (key, started) in [("ended", 0), ("old", 70), ("mid", 100), ("new", 120)] {
            let window = Window {
                start: base + Duration::from_secs(started),
                failures: 1,
            };
            shard.insert(key.to_owned(), window);
        }

        make_room(&mut shard, 4, MINUTE, now);
        let after_ended = shard.len();
        make_room(&mut shard, 3, MINUTE, now);

        assert_eq!(after_ended, 3);
        assert!(!shard.contains_key("ended"));
        assert_eq!(shard.len(), 2);
        assert!(!shard.contains_key("old"));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limiter = FailureLimiter::new(1, MINUTE, 1_000);
        let start = Instant::now();
        limiter.record_failure("k", start);

        let retry = |elapsed: Duration| match limiter.check("k", start + elapsed) {
            Decision::Refuse { retry_after } => retry_after,
            other => panic!("expected a refusal, got {other:?}"),
        };

        assert_eq!(retry(Duration::ZERO), MINUTE);
        assert_eq!(retry(Duration::from_millis(500)), MINUTE);
        assert_eq!(retry(Duration::from_millis(1_500)), Duration::from_secs(59));
        assert_eq!(retry(Duration::from_millis(59_999)), Duration::from_secs(1));
        assert_eq!(round_up_to_seconds(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            round_up_to_seconds(Duration::from_nanos(1)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn poisoned_shard_keeps_working() {
        let limiter = FailureLimiter::new(2, MINUTE, 1_000);
        let start = Instant::now();
        limiter.record_failure("k", start);
        for shard in &limiter.shards {
            let poison = std::panic::AssertUnwindSafe(|| {
                let _guard = shard.lock();
                panic!("poison the shard");
            });
            let _ = std::panic::catch_unwind(poison);
        }

        limiter.record_failure("k", start);

        assert!(limiter.shards.iter().all(Mutex::is_poisoned));
        assert!(matches!(limiter.check("k", start), Decision::Refuse { .. }));
    }
}
