//! Open loop: request `i` is due at `start + i / rate`, whatever happened to earlier ones.
//!
//! A pacing OS thread sleeps (nanosleep, not tokio's 1 ms timer wheel) until each due time and
//! spawns the request onto the runtime; the request borrows an idle connection from a pool (HTTP/1.1
//! carries one request at a time). Latency runs from the due time to the checked answer, so time
//! spent waiting for a free connection, or behind a stalled earlier request, counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Semaphore, mpsc};

use super::Outcome;
use super::client::{McpConn, Workload};

/// How long requests still in flight at the end of the schedule may take before they count as
/// errors.
const DRAIN: Duration = Duration::from_secs(30);

struct Pool {
    idle: Mutex<Vec<McpConn>>,
    free: Semaphore,
}

enum Done {
    Answered { latency: Duration, lag: Duration },
    Failed(anyhow::Error),
}

/// Sends `rate` requests per second for `duration` over the given connections.
pub async fn open_loop(
    conns: Vec<McpConn>,
    work: &Workload,
    rate: f64,
    duration: Duration,
) -> (Vec<McpConn>, Outcome) {
    let n = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let pool = Arc::new(Pool {
        free: Semaphore::new(conns.len()),
        idle: Mutex::new(conns),
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now() + Duration::from_millis(5);
    let pacer = {
        let (pool, work, rt) = (
            pool.clone(),
            Arc::new(work.clone()),
            tokio::runtime::Handle::current(),
        );
        std::thread::spawn(move || {
            for i in 0..n {
                let due = start + interval.mul_f64(i as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                rt.spawn(one(pool.clone(), work.clone(), due, tx.clone()));
            }
        })
    };
    let mut out = Outcome::default();
    let collect = async {
        while let Some(done) = rx.recv().await {
            match done {
                Done::Answered { latency, lag } => {
                    out.calls += 1;
                    out.latencies.record(latency);
                    out.send_lag.record(lag);
                }
                Done::Failed(e) => out.error(&e),
            }
        }
    };
    if tokio::time::timeout(duration + DRAIN, collect)
        .await
        .is_err()
    {
        out.error(&anyhow::anyhow!(
            "requests still unanswered {DRAIN:?} after the last was due"
        ));
    }
    let _ = pacer.join();
    out.elapsed = start.elapsed();
    let missing = n.saturating_sub(out.calls + out.errors);
    if missing > 0 {
        out.errors += missing;
    }
    let conns = std::mem::take(&mut *pool.idle.lock());
    (conns, out)
}

async fn one(pool: Arc<Pool>, work: Arc<Workload>, due: Instant, tx: mpsc::UnboundedSender<Done>) {
    let Ok(_permit) = pool.free.acquire().await else {
        return;
    };
    let Some(mut conn) = pool.idle.lock().pop() else {
        return;
    };
    let lag = due.elapsed();
    let done = match conn.call(&work).await {
        Ok(()) => Done::Answered {
            latency: due.elapsed(),
            lag,
        },
        Err(e) => Done::Failed(e),
    };
    pool.idle.lock().push(conn);
    let _ = tx.send(done);
}
