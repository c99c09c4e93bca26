//! Measurements beside the load phases: memory with many idle sessions, large results passing
//! through, and the federated `tools/list` of 1,000 tools.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::task::JoinSet;

use super::procfs::{cpu_time, peak_rss, reset_peak, rss};
use super::targets::{FEDERATED_SERVERS, Fleet, TOOLS_PER_SERVER, Target, UpstreamSpec, single};
use crate::load::client::{Endpoint, McpConn};
use crate::load::stats::{Latencies, Summary};

/// moat's memory before and after opening many sessions it then keeps idle.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// Sessions opened (initialize only).
    pub sessions: usize,
    /// RSS of a fresh moat with one HTTP upstream, before any session, in bytes.
    pub rss_idle: u64,
    /// RSS with the sessions open and idle, in bytes.
    pub rss_with_sessions: u64,
    /// Sessions opened per second (each one also initializes an upstream session).
    pub opened_per_s: f64,
}

/// One large result through moat.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadReport {
    /// How the upstream framed the result (`json` or `sse`).
    pub upstream_framing: &'static str,
    /// Bytes of text in the result.
    pub size: usize,
    /// Calls made (each checked).
    pub calls: usize,
    /// moat's RSS before, in bytes.
    pub moat_rss_before: u64,
    /// moat's peak RSS (VmHWM, reset before the calls), in bytes.
    pub moat_rss_peak: u64,
    /// Median time of one call through moat, ms.
    pub moat_ms: f64,
    /// Median time of one call straight to the upstream, ms.
    pub direct_ms: f64,
    /// moat CPU per call, ms.
    pub moat_cpu_ms: f64,
    /// The first failure, if any.
    pub error: Option<String>,
}

/// `tools/list` of the whole federation through moat, against one server listing as many.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// Tools in each answer.
    pub tools: usize,
    /// Through moat (10 upstream lists fetched and merged per call).
    pub via_moat: Summary,
    /// One upstream listing the same number of tools, directly.
    pub direct: Summary,
    /// moat CPU per `tools/list`, µs.
    pub moat_cpu_us: f64,
}

/// Opens `n` sessions with `initialize` only on a fresh moat and measures its RSS.
pub async fn idle_sessions(fleet: &mut Fleet, upstream_url: &str, n: usize) -> Result<IdleReport> {
    let spec = single("up", UpstreamSpec::Http(upstream_url.to_owned()));
    let (endpoint, pid) = fleet.moat("moat-idle", &spec)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss(pid)?;
    let start = Instant::now();
    let workers = 8.min(n.max(1));
    let mut set = JoinSet::new();
    for w in 0..workers {
        let count = n / workers + usize::from(w < n % workers);
        let endpoint = endpoint.clone();
        set.spawn(async move {
            let mut conn = McpConn::connect(endpoint, w).await?;
            for _ in 0..count {
                conn.initialize().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r?.context("opening idle sessions")?;
    }
    let opened_per_s = n as f64 / start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(IdleReport {
        sessions: n,
        rss_idle,
        rss_with_sessions: rss(pid)?,
        opened_per_s,
    })
}

/// Calls `payload` of each size through a fresh moat, upstream answering JSON and then SSE.
pub async fn payloads(
    fleet: &mut Fleet,
    sizes: &[usize],
    repeats: usize,
) -> Result<Vec<PayloadReport>> {
    let mut out = Vec::new();
    for (framing, args) in [("json", &[][..]), ("sse", &["--sse"][..])] {
        let (url, _) = fleet.upstream(&format!("payload-upstream-{framing}"), args)?;
        let spec = single("up", UpstreamSpec::Http(url.clone()));
        let (endpoint, pid) = fleet.moat(&format!("moat-payload-{framing}"), &spec)?;
        let mut via = McpConn::open(endpoint, 0).await?;
        let mut direct = McpConn::open(Arc::new(Endpoint::parse(&url)?), 0).await?;
        for &size in sizes {
            let mut r = PayloadReport {
                upstream_framing: framing,
                size,
                calls: repeats,
                moat_rss_before: rss(pid)?,
                moat_rss_peak: 0,
                moat_ms: 0.0,
                direct_ms: 0.0,
                moat_cpu_ms: 0.0,
                error: None,
            };
            let timed = timed_payloads(&mut direct, size, repeats).await;
            r.direct_ms = timed.unwrap_or(f64::NAN);
            reset_peak(pid)?;
            let cpu0 = cpu_time(pid)?;
            match timed_payloads(&mut via, size, repeats).await {
                Ok(ms) => r.moat_ms = ms,
                Err(e) => r.error = Some(format!("{e:#}")),
            }
            r.moat_cpu_ms = (cpu_time(pid)? - cpu0).as_secs_f64() * 1e3 / repeats as f64;
            r.moat_rss_peak = peak_rss(pid)?;
            out.push(r);
        }
    }
    Ok(out)
}

/// Median ms of `repeats` checked `payload` calls.
async fn timed_payloads(conn: &mut McpConn, size: usize, repeats: usize) -> Result<f64> {
    let mut ms = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t0 = Instant::now();
        conn.call_payload("payload", size).await?;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN))
}

/// Times `tools/list` through the federated moat and from one upstream listing as many tools.
pub async fn federated_list(fleet: &mut Fleet, fed: &Target, calls: usize) -> Result<ListReport> {
    let total = FEDERATED_SERVERS * TOOLS_PER_SERVER;
    let (url, _) = fleet.upstream("list-upstream", &["--tools", &total.to_string()])?;
    let mut direct = McpConn::open(Arc::new(Endpoint::parse(&url)?), 0).await?;
    let mut via = McpConn::open(fed.endpoint.clone(), 0).await?;
    let (mut d, mut v) = (Latencies::new(), Latencies::new());
    let pid = fed
        .moat
        .context("the federated configuration has no moat")?;
    let cpu0 = cpu_time(pid)?;
    for _ in 0..calls {
        let t0 = Instant::now();
        let n = via.list_tools().await?;
        v.record(t0.elapsed());
        anyhow::ensure!(n == total, "moat listed {n} tools, expected {total}");
    }
    let moat_cpu = cpu_time(pid)? - cpu0;
    for _ in 0..calls {
        let t0 = Instant::now();
        let n = direct.list_tools().await?;
        d.record(t0.elapsed());
        anyhow::ensure!(n == total, "upstream listed {n} tools, expected {total}");
    }
    Ok(ListReport {
        tools: total,
        via_moat: v.summary(),
        direct: d.summary(),
        moat_cpu_us: moat_cpu.as_secs_f64() * 1e6 / calls.max(1) as f64,
    })
}
