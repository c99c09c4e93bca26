//! Closed loop: every connection sends its next request as soon as the previous one is answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Outcome;
use super::client::{McpConn, Workload};

/// When a closed loop ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this long.
    After(Duration),
    /// After about this many calls in all (spread evenly over the connections).
    Calls(u64),
}

/// Drives every connection until `stop`; returns the connections and what they measured. A
/// connection stops at its first error (which is counted).
pub async fn closed_loop(
    conns: Vec<McpConn>,
    work: &Workload,
    stop: Stop,
) -> (Vec<McpConn>, Outcome) {
    let start = Instant::now();
    let (deadline, per_conn) = match stop {
        Stop::After(d) => (start + d, u64::MAX),
        Stop::Calls(n) => (
            start + Duration::from_secs(3600),
            n.div_ceil(conns.len().max(1) as u64),
        ),
    };
    let work = Arc::new(work.clone());
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(drive(conn, work.clone(), deadline, per_conn)))
        .collect();
    let mut total = Outcome::default();
    let mut back = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok((conn, outcome)) => {
                back.push(conn);
                total.absorb(outcome);
            }
            Err(e) => total.error(&anyhow::anyhow!("load task failed: {e}")),
        }
    }
    total.elapsed = start.elapsed();
    (back, total)
}

async fn drive(
    mut conn: McpConn,
    work: Arc<Workload>,
    deadline: Instant,
    max_calls: u64,
) -> (McpConn, Outcome) {
    let mut out = Outcome::default();
    while out.calls < max_calls {
        let t0 = Instant::now();
        if t0 >= deadline {
            break;
        }
        match conn.call(&work).await {
            Ok(()) => {
                out.latencies.record(t0.elapsed());
                out.calls += 1;
            }
            Err(e) => {
                out.error(&e);
                break;
            }
        }
    }
    (conn, out)
}
