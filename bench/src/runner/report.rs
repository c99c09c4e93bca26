//! What a run found, as the JSON file records it: per configuration, phases merged over rounds,
//! added latency against `direct`, and the targets judged.

use serde::Serialize;

use super::Plan;
use super::extras::{IdleReport, ListReport, PayloadReport};
use super::measure::{PhaseRun, RoundRun};
use crate::load::stats::{Latencies, Summary};

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// `git describe`-like commit of the tree measured (`-dirty` when it had changes).
    pub commit: String,
    /// The machine.
    pub machine: Machine,
    /// What was run.
    pub plan: Plan,
    /// One per configuration.
    pub configurations: Vec<ConfigReport>,
    /// Memory with many idle sessions.
    pub idle_sessions: Option<IdleReport>,
    /// Large results.
    pub payloads: Vec<PayloadReport>,
    /// Federated `tools/list`.
    pub federated_list: Option<ListReport>,
    /// The targets.
    pub targets: Vec<Verdict>,
    /// Wrong or missing answers in the whole run.
    pub errors: u64,
}

/// Where the run happened.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores available.
    pub cores: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// MemTotal, bytes.
    pub memory: u64,
    /// Kernel release.
    pub kernel: String,
    /// /proc/loadavg when the run started and when it ended.
    pub load_before: String,
    /// As above, at the end.
    pub load_after: String,
    /// Whether moat was an optimised build.
    pub release_build: bool,
}

/// One configuration over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    /// Short name.
    pub name: String,
    /// The path measured.
    pub description: String,
    /// Closed loop.
    pub saturation: PhaseReport,
    /// One per fixed rate.
    pub rates: Vec<PhaseReport>,
    /// moat's RSS after start, before any session, bytes.
    pub moat_rss_idle: Option<u64>,
    /// Largest moat RSS sampled during the closed loops, bytes.
    pub moat_rss_under_load: Option<u64>,
}

/// One phase, merged over rounds.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// Fixed rate, or `None` for the closed loop.
    pub rate: Option<f64>,
    /// Connections (sessions) used.
    pub connections: usize,
    /// Correct answers per second, per round.
    pub throughput_per_round: Vec<f64>,
    /// Their mean.
    pub throughput: f64,
    /// Correct answers in all rounds.
    pub calls: u64,
    /// Errors in all rounds.
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
    /// Latency over all rounds.
    pub latency: Summary,
    /// Open loop: the load generator's lateness in sending (part of `latency`).
    pub send_lag: Option<Summary>,
    /// Latency minus `direct`'s at the same percentile and rate.
    pub added_vs_direct: Option<Added>,
    /// moat CPU per call, µs.
    pub moat_cpu_us: Option<f64>,
    /// Upstream CPU per call, µs (single HTTP upstream only).
    pub upstream_cpu_us: Option<f64>,
    /// Load generator CPU per call, µs.
    pub client_cpu_us: f64,
}

/// Added latency, µs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Added {
    /// At p50.
    pub p50_us: f64,
    /// At p90.
    pub p90_us: f64,
    /// At p99.
    pub p99_us: f64,
    /// At p99.9.
    pub p999_us: f64,
}

/// One target of the issue.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The target as the issue states it.
    pub target: String,
    /// The configuration it was judged on.
    pub on: String,
    /// The measured value.
    pub measured: String,
    /// `met`, `missed` or `not measurable yet`.
    pub verdict: String,
}

/// Merges a configuration's rounds.
pub fn config_report(
    name: &str,
    description: &str,
    rounds: &[RoundRun],
    idle: Option<u64>,
) -> ConfigReport {
    let closed: Vec<&PhaseRun> = rounds.iter().map(|r| &r.closed).collect();
    let n_rates = rounds.first().map_or(0, |r| r.open.len());
    let rates = (0..n_rates)
        .map(|i| merge(&rounds.iter().map(|r| &r.open[i]).collect::<Vec<_>>()))
        .collect();
    ConfigReport {
        name: name.to_owned(),
        description: description.to_owned(),
        saturation: merge(&closed),
        rates,
        moat_rss_idle: idle,
        moat_rss_under_load: closed.iter().filter_map(|p| p.moat_rss_max).max(),
    }
}

fn merge(runs: &[&PhaseRun]) -> PhaseReport {
    let mut lat = Latencies::new();
    let mut lag = Latencies::new();
    let (mut calls, mut errors) = (0, 0);
    let (mut moat, mut upstream, mut client) = (None::<f64>, None::<f64>, 0.0);
    let add = |acc: Option<f64>, d: Option<std::time::Duration>| match d {
        Some(d) => Some(acc.unwrap_or(0.0) + d.as_secs_f64()),
        None => acc,
    };
    for r in runs {
        lat.merge(&r.outcome.latencies);
        lag.merge(&r.outcome.send_lag);
        calls += r.outcome.calls;
        errors += r.outcome.errors;
        moat = add(moat, r.cpu.moat);
        upstream = add(upstream, r.cpu.upstream);
        client += r.cpu.client.as_secs_f64();
    }
    let per_call = |s: f64| s * 1e6 / calls.max(1) as f64;
    let tp: Vec<f64> = runs.iter().map(|r| r.outcome.throughput()).collect();
    PhaseReport {
        rate: runs.first().and_then(|r| r.rate),
        connections: runs.first().map_or(0, |r| r.connections),
        throughput: tp.iter().sum::<f64>() / tp.len().max(1) as f64,
        throughput_per_round: tp,
        calls,
        errors,
        first_error: runs.iter().find_map(|r| r.outcome.first_error.clone()),
        latency: lat.summary(),
        send_lag: (!lag.is_empty()).then(|| lag.summary()),
        added_vs_direct: None,
        moat_cpu_us: moat.map(per_call),
        upstream_cpu_us: upstream.map(per_call),
        client_cpu_us: per_call(client),
    }
}

/// Fills in every configuration's latency added over `direct`.
pub fn add_deltas(configs: &mut [ConfigReport]) {
    let Some(direct) = configs.iter().find(|c| c.name == "direct").cloned() else {
        return;
    };
    for c in configs.iter_mut().filter(|c| c.name != "direct") {
        let pairs = std::iter::once((&mut c.saturation, &direct.saturation))
            .chain(c.rates.iter_mut().zip(&direct.rates));
        for (p, d) in pairs {
            let (a, b) = (p.latency, d.latency);
            p.added_vs_direct = Some(Added {
                p50_us: a.p50_us - b.p50_us,
                p90_us: a.p90_us - b.p90_us,
                p99_us: a.p99_us - b.p99_us,
                p999_us: a.p999_us - b.p999_us,
            });
        }
    }
}

#[cfg(test)]
mod tests;
