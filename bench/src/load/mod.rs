//! The load generator: MCP sessions over hyper, driven closed-loop (as fast as answers come back,
//! one request in flight per connection) or open-loop (requests scheduled at a fixed rate, latency
//! measured from each request's *intended* send time, so a stall is charged to every request it
//! delays: no coordinated omission).

pub mod client;
pub mod closed;
pub mod open;
pub mod stats;

use std::time::Duration;

pub use closed::{Stop, closed_loop};
pub use open::open_loop;

use stats::Latencies;

/// What one phase of load produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Correct answers.
    pub calls: u64,
    /// Wrong answers, HTTP errors and requests never answered.
    pub errors: u64,
    /// The first error, for the report.
    pub first_error: Option<String>,
    /// From the first send to the last answer.
    pub elapsed: Duration,
    /// Latency of each correct answer.
    pub latencies: Latencies,
    /// Open loop only: how late each request left after its intended time (the load
    /// generator's own scheduling delay, included in `latencies`).
    pub send_lag: Latencies,
}

impl Outcome {
    /// Correct answers per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.calls as f64 / secs
        } else {
            0.0
        }
    }

    fn error(&mut self, e: &anyhow::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{e:#}"));
        }
    }

    fn absorb(&mut self, other: Self) {
        self.calls += other.calls;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.merge(&other.latencies);
        self.send_lag.merge(&other.send_lag);
    }
}
