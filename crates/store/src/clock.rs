//! Timestamps as the store keeps them.
//!
//! PostgreSQL keeps microseconds; SQLite keeps whatever text it is given. Every time the store
//! writes is truncated to the microsecond first, so a value reads back equal on both backends,
//! and SQLite's text timestamps (RFC 3339, UTC, 0/3/6 fraction digits) sort chronologically.
//! Times are always bound from Rust: SQL-side defaults such as SQLite's `CURRENT_TIMESTAMP` use
//! another text format and would not compare correctly.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The current time at the store's precision (microseconds).
pub fn now() -> DateTime<Utc> {
    stored(Utc::now())
}

/// `time` truncated to the microsecond, as it will read back from either backend.
pub fn stored(time: DateTime<Utc>) -> DateTime<Utc> {
    // Truncation to a whole microsecond only fails for spans beyond ±262 000 years; keep the
    // original then rather than fail a write.
    time.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(time)
}
