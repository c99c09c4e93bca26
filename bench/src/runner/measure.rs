//! One round of one configuration: open sessions, warm up, closed loop at saturation, then each
//! fixed rate open-loop, with the CPU time of moat, the upstream and the load generator taken
//! around every phase.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::task::JoinSet;

use super::Plan;
use super::procfs::{RssSampler, cpu_time};
use super::targets::Target;
use crate::load::Outcome;
use crate::load::client::{Endpoint, McpConn};
use crate::load::{Stop, closed_loop, open_loop};

/// CPU time used during a phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// By moat, when it is on the path.
    pub moat: Option<Duration>,
    /// By the (single) HTTP upstream.
    pub upstream: Option<Duration>,
    /// By the load generator (this process; it also hosts the pacing thread and samplers).
    pub client: Duration,
}

/// One measured phase.
#[derive(Debug, Clone)]
pub struct PhaseRun {
    /// The fixed rate, or `None` for the closed loop.
    pub rate: Option<f64>,
    /// Connections (= sessions) used.
    pub connections: usize,
    /// What the load generator saw.
    pub outcome: Outcome,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
    /// Largest moat RSS sampled meanwhile, in bytes.
    pub moat_rss_max: Option<u64>,
}

/// One round of a configuration.
#[derive(Debug, Clone)]
pub struct RoundRun {
    /// Saturation.
    pub closed: PhaseRun,
    /// One per fixed rate.
    pub open: Vec<PhaseRun>,
}

struct CpuSnap {
    moat: Option<Duration>,
    upstream: Option<Duration>,
    client: Duration,
}

impl CpuSnap {
    fn take(t: &Target) -> Result<Self> {
        Ok(Self {
            moat: t.moat.map(cpu_time).transpose()?,
            upstream: t.upstream.map(cpu_time).transpose()?,
            client: cpu_time(std::process::id())?,
        })
    }

    fn since(&self, t: &Target) -> Result<CpuUse> {
        let now = Self::take(t)?;
        let diff = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
        Ok(CpuUse {
            moat: diff(now.moat, self.moat),
            upstream: diff(now.upstream, self.upstream),
            client: now.client.saturating_sub(self.client),
        })
    }
}

/// Opens `n` initialized sessions, each on its own connection: the first alone (so what the
/// gateway loads lazily, such as the token issuer's keys, is loaded once), then 8 at a time.
pub async fn open_sessions(endpoint: &Arc<Endpoint>, n: usize, tag: usize) -> Result<Vec<McpConn>> {
    let mut set = JoinSet::new();
    let mut conns = Vec::with_capacity(n);
    if n > 0 {
        conns.push(McpConn::open(endpoint.clone(), tag).await?);
    }
    for i in 1..n {
        set.spawn(McpConn::open(endpoint.clone(), tag + i));
        if set.len() >= 8
            && let Some(r) = set.join_next().await
        {
            conns.push(r??);
        }
    }
    while let Some(r) = set.join_next().await {
        conns.push(r??);
    }
    Ok(conns)
}

/// Runs one round against `t`.
pub async fn round(t: &Target, plan: &Plan, round: usize) -> Result<RoundRun> {
    let n = plan.connections.max(plan.open_connections);
    let mut conns = open_sessions(&t.endpoint, n, round * 10_000)
        .await
        .with_context(|| format!("{}: opening {n} sessions", t.name))?;
    let rest = conns.split_off(plan.connections);
    if plan.warmup > Duration::ZERO {
        let (back, warm) = closed_loop(conns, &t.workload, Stop::After(plan.warmup)).await;
        conns = back;
        if let Some(e) = warm.first_error {
            anyhow::bail!("{}: warm-up failed: {e}", t.name);
        }
    }
    let (back, closed) = phase(t, conns, None, plan).await?;
    conns = back;
    conns.extend(rest);
    conns.truncate(plan.open_connections);
    let mut open = Vec::new();
    for &rate in &plan.rates {
        let (back, run) = phase(t, conns, Some(rate), plan).await?;
        conns = back;
        open.push(run);
    }
    for c in conns {
        c.close().await;
    }
    Ok(RoundRun { closed, open })
}

async fn phase(
    t: &Target,
    conns: Vec<McpConn>,
    rate: Option<f64>,
    plan: &Plan,
) -> Result<(Vec<McpConn>, PhaseRun)> {
    let connections = conns.len();
    let sampler = t
        .moat
        .map(|p| RssSampler::start(p, Duration::from_millis(50)));
    let before = CpuSnap::take(t)?;
    let (conns, outcome) = match rate {
        None => closed_loop(conns, &t.workload, plan.closed).await,
        Some(r) => open_loop(conns, &t.workload, r, plan.open).await,
    };
    let cpu = before.since(t)?;
    let moat_rss_max = sampler.map(RssSampler::stop);
    let run = PhaseRun {
        rate,
        connections,
        outcome,
        cpu,
        moat_rss_max,
    };
    Ok((conns, run))
}
