//! Rate limits and quotas, as GCRA (the generic cell rate algorithm): each limit lets `burst`
//! calls through at once and refills one every `period / count`. A quota is the same algorithm
//! over a day: `count` calls a day with all of them available at once, refilled evenly (a
//! rolling day, not a calendar one, so there is no midnight stampede).
//!
//! The gateway asks a [`Limiter`] per call with every limit that applies; [`MemoryLimiter`] keeps
//! the state in this process. A shared backend (Redis, for several instances) implements the same
//! trait.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

/// One limit: `count` calls per `period`, with up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: NonZeroU32,
    pub period: Duration,
    pub burst: NonZeroU32,
}

impl Limit {
    fn quota(&self) -> Option<Quota> {
        let per_cell = self.period.checked_div(self.count.get())?;
        Some(Quota::with_period(per_cell)?.allow_burst(self.burst))
    }
}

/// A call over a limit: which one, and when a retry can succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// Index of the limit in the list the limiter was built with.
    pub limit: usize,
    pub retry_after: Duration,
}

/// A limit that cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("limit {0}: a period of zero or too short for its count")]
pub struct InvalidLimit(pub usize);

/// Why a call may not go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("over limit {}; retry in {:?}", .0.limit, .0.retry_after)]
    Exceeded(Exceeded),
    /// A shared backend that cannot be asked: the gateway refuses the call (fail closed).
    #[error("the rate-limit backend is unavailable: {0}")]
    Unavailable(String),
}

/// One call's check: the limits that apply, each with the key the call counts under.
pub type Checks<'a> = &'a [(usize, &'a str)];

/// What a [`Limiter::acquire`] answers.
pub type Acquired<'a> = Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + 'a>>;

/// Counts calls against limits. A call counts against every limit it is checked under, in
/// order, until one refuses it; the refused call does not count against that one.
pub trait Limiter: Send + Sync {
    fn acquire<'a>(&'a self, checks: Checks<'a>) -> Acquired<'a>;
}

/// Keys are forgotten once their limit is full again, checked every this many calls.
const SWEEP_EVERY: u64 = 4096;

type Keyed<C> =
    RateLimiter<String, DashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiter of a single instance: per limit, a keyed GCRA state in a concurrent map.
pub struct MemoryLimiter<C: Clock = DefaultClock> {
    limits: Vec<Keyed<C>>,
    calls: AtomicU64,
}

impl MemoryLimiter {
    pub fn new(limits: &[Limit]) -> Result<Self, InvalidLimit> {
        Self::with_clock(limits, &DefaultClock::default())
    }
}

impl<C: Clock + Clone> MemoryLimiter<C> {
    /// A limiter on `clock` (tests drive a fake one).
    pub fn with_clock(limits: &[Limit], clock: &C) -> Result<Self, InvalidLimit> {
        let limits = limits
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let quota = l.quota().ok_or(InvalidLimit(i))?;
                Ok(RateLimiter::new(
                    quota,
                    DashMapStateStore::default(),
                    clock.clone(),
                ))
            })
            .collect::<Result<_, InvalidLimit>>()?;
        Ok(Self {
            limits,
            calls: AtomicU64::new(0),
        })
    }

    fn check(&self, checks: Checks<'_>) -> Result<(), Exceeded> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for l in &self.limits {
                l.retain_recent();
            }
        }
        for &(limit, key) in checks {
            // An index the limiter was not built with is a bug upstream of here: refuse.
            let Some(l) = self.limits.get(limit) else {
                return Err(Exceeded {
                    limit,
                    retry_after: Duration::ZERO,
                });
            };
            if let Err(not_until) = l.check_key(&key.to_owned()) {
                return Err(Exceeded {
                    limit,
                    retry_after: not_until.wait_time_from(l.clock().now()),
                });
            }
        }
        Ok(())
    }

    /// How many keys are remembered (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.limits.iter().map(|l| l.len()).sum()
    }
}

impl<C: Clock + Clone + Send + Sync> Limiter for MemoryLimiter<C>
where
    C::Instant: Send + Sync,
{
    fn acquire<'a>(&'a self, checks: Checks<'a>) -> Acquired<'a> {
        Box::pin(std::future::ready(
            self.check(checks).map_err(Refusal::Exceeded),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limit(count: u32, period_s: u64, burst: u32) -> Limit {
        Limit {
            count: NonZeroU32::new(count).unwrap(),
            period: Duration::from_secs(period_s),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[test]
    fn a_burst_passes_then_calls_wait_for_the_next_cell() {
        let clock = FakeRelativeClock::default();
        // 2 per second, bursts of 3.
        let l = MemoryLimiter::with_clock(&[limit(2, 1, 3)], &clock).unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(&[(0, "agent-a")]), Ok(()));
        }
        let over = l.check(&[(0, "agent-a")]).unwrap_err();
        assert_eq!(over.limit, 0);
        assert_eq!(over.retry_after, Duration::from_millis(500));
        assert_eq!(l.check(&[(0, "agent-b")]), Ok(()), "keys are independent");
        clock.advance(Duration::from_millis(500));
        assert_eq!(l.check(&[(0, "agent-a")]), Ok(()));
        assert!(l.check(&[(0, "agent-a")]).is_err());
    }

    #[test]
    fn a_daily_quota_refuses_until_a_cell_is_back() {
        let clock = FakeRelativeClock::default();
        let l = MemoryLimiter::with_clock(&[limit(4, 86_400, 4)], &clock).unwrap();
        for _ in 0..4 {
            assert_eq!(l.check(&[(0, "u")]), Ok(()));
        }
        let over = l.check(&[(0, "u")]).unwrap_err();
        assert_eq!(over.retry_after, Duration::from_secs(21_600));
        clock.advance(Duration::from_secs(21_600));
        assert_eq!(l.check(&[(0, "u")]), Ok(()));
    }

    #[test]
    fn the_first_limit_that_refuses_is_named() {
        let clock = FakeRelativeClock::default();
        let l = MemoryLimiter::with_clock(&[limit(100, 1, 100), limit(1, 60, 1)], &clock).unwrap();
        assert_eq!(l.check(&[(0, "k"), (1, "k")]), Ok(()));
        let over = l.check(&[(0, "k"), (1, "k")]).unwrap_err();
        assert_eq!(over.limit, 1);
        assert_eq!(over.retry_after, Duration::from_secs(60));
        assert!(l.check(&[(7, "k")]).is_err(), "an unknown limit refuses");
    }

    #[test]
    fn impossible_limits_are_refused_when_built() {
        let zero = Limit {
            period: Duration::ZERO,
            ..limit(1, 1, 1)
        };
        assert!(matches!(
            MemoryLimiter::new(&[limit(1, 1, 1), zero]),
            Err(InvalidLimit(1))
        ));
    }

    #[test]
    fn full_keys_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let l = MemoryLimiter::with_clock(&[limit(10, 1, 10)], &clock).unwrap();
        for i in 0..100 {
            let key = format!("k{i}");
            assert_eq!(l.check(&[(0, &key)]), Ok(()));
        }
        assert_eq!(l.keys(), 100);
        clock.advance(Duration::from_secs(2));
        for _ in 0..SWEEP_EVERY {
            let _ = l.check(&[(0, "busy")]);
        }
        assert!(l.keys() < 100, "{} keys remembered", l.keys());
    }

    #[tokio::test]
    async fn the_trait_answers_like_the_check() {
        let l: Box<dyn Limiter> = Box::new(MemoryLimiter::new(&[limit(1, 3600, 1)]).unwrap());
        assert_eq!(l.acquire(&[(0, "x")]).await, Ok(()));
        assert!(l.acquire(&[(0, "x")]).await.is_err());
    }
}
