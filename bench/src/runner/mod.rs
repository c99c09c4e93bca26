//! `moat-bench run`: starts every configuration, measures them A/B/A/B, then the extras, and
//! writes `bench/results/<date>-<commit>.json` and `.md`.

pub mod auth;
pub mod extras;
pub mod markdown;
pub mod measure;
pub mod procfs;
pub mod procs;
pub mod report;
pub mod targets;
pub mod verdicts;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::load::Stop;
use measure::RoundRun;
use procs::Binaries;
use report::{Machine, Report};
use targets::{Fleet, Target};

pub use targets::ALL as CONFIGURATIONS;

/// How much of everything a run does.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `full`, `quick` or `smoke`.
    pub mode: &'static str,
    /// A/B rounds over all configurations.
    pub rounds: usize,
    /// Closed-loop warm-up before each round.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// Closed loop length (or call count, in smoke mode).
    #[serde(skip)]
    pub closed: Stop,
    /// Each fixed-rate phase's length.
    #[serde(with = "secs")]
    pub open: Duration,
    /// Fixed rates, requests/s.
    pub rates: Vec<f64>,
    /// Closed-loop connections (one session each).
    pub connections: usize,
    /// Open-loop connections (one session each).
    pub open_connections: usize,
    /// Size of the echoed text.
    pub text_bytes: usize,
    /// Idle sessions opened for the memory measurement.
    pub idle_sessions: usize,
    /// Result sizes of the large-payload check.
    pub payload_sizes: Vec<usize>,
    /// Calls per payload size.
    pub payload_repeats: usize,
    /// Federated `tools/list` calls timed.
    pub list_calls: usize,
}

mod secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl Plan {
    /// The full benchmark (several minutes), the quick one (about a minute and a half), or the
    /// smoke check (a few hundred calls per configuration, for CI).
    pub fn new(mode: &str) -> Self {
        let s = Duration::from_secs;
        let full = Self {
            mode: "full",
            rounds: 2,
            warmup: s(2),
            closed: Stop::After(s(10)),
            open: s(10),
            rates: vec![200.0, 1000.0, 2000.0],
            connections: 16,
            open_connections: 32,
            text_bytes: 1024,
            idle_sessions: 10_000,
            payload_sizes: vec![1 << 20, 20 << 20],
            payload_repeats: 3,
            list_calls: 100,
        };
        match mode {
            "quick" => Self {
                mode: "quick",
                warmup: s(1),
                closed: Stop::After(s(3)),
                open: s(3),
                list_calls: 30,
                ..full
            },
            "smoke" => Self {
                mode: "smoke",
                rounds: 1,
                warmup: Duration::ZERO,
                closed: Stop::Calls(300),
                open: s(1),
                rates: vec![200.0],
                connections: 4,
                open_connections: 4,
                idle_sessions: 100,
                payload_sizes: vec![1 << 20],
                payload_repeats: 1,
                list_calls: 5,
                ..full
            },
            _ => full,
        }
    }
}

/// Everything `run` needs besides the plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Configurations to measure (names from [`CONFIGURATIONS`]).
    pub only: Vec<String>,
    /// The moat executable (default: next to `moat-bench`).
    pub moat: Option<PathBuf>,
    /// Where results are written.
    pub out: PathBuf,
    /// Skip the idle-session and payload checks.
    pub skip_extras: bool,
}

/// Runs the benchmark; returns the report (already written to disk).
pub async fn run(plan: Plan, opts: RunOptions) -> Result<Report> {
    let bins = Binaries::locate(opts.moat.clone())?;
    let logs = std::env::temp_dir().join(format!("moat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    eprintln!(
        "moat-bench: {} mode; logs and configs in {}",
        plan.mode,
        logs.display()
    );
    let load_before = loadavg();
    let mut fleet = Fleet::new(bins, logs);
    let targets = targets::start(&mut fleet, &opts.only, plan.text_bytes)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle: Vec<Option<u64>> = targets
        .iter()
        .map(|t| t.moat.and_then(|p| procfs::rss(p).ok()))
        .collect();
    let mut rounds: Vec<Vec<RoundRun>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..plan.rounds {
        for (t, done) in targets.iter().zip(&mut rounds) {
            eprintln!(
                "moat-bench: round {}/{}: {}",
                round + 1,
                plan.rounds,
                t.name
            );
            done.push(measure::round(t, &plan, round).await?);
        }
    }
    let mut configs: Vec<_> = targets
        .iter()
        .zip(&rounds)
        .zip(&idle)
        .map(|((t, r), i)| report::config_report(t.name, &t.description, r, *i))
        .collect();
    report::add_deltas(&mut configs);
    let extras = run_extras(&mut fleet, &targets, &plan, opts.skip_extras).await?;
    let mut report = Report {
        date: today(),
        commit: commit(),
        machine: machine(load_before, fleet.bins().is_release()),
        targets: verdicts::judge(&configs, extras.0.as_ref(), &extras.1),
        errors: 0,
        configurations: configs,
        idle_sessions: extras.0,
        payloads: extras.1,
        federated_list: extras.2,
        plan,
    };
    report.errors = count_errors(&report);
    write(&report, &opts.out)?;
    Ok(report)
}

type Extras = (
    Option<extras::IdleReport>,
    Vec<extras::PayloadReport>,
    Option<extras::ListReport>,
);

async fn run_extras(
    fleet: &mut Fleet,
    targets: &[Target],
    plan: &Plan,
    skip: bool,
) -> Result<Extras> {
    let fed = targets.iter().find(|t| t.name == "federated");
    let list = match fed {
        Some(f) => {
            eprintln!("moat-bench: federated tools/list");
            Some(extras::federated_list(fleet, f, plan.list_calls).await?)
        }
        None => None,
    };
    if skip {
        return Ok((None, Vec::new(), list));
    }
    eprintln!("moat-bench: {} idle sessions", plan.idle_sessions);
    let (url, _) = fleet.upstream("idle-upstream", &[])?;
    let idle = extras::idle_sessions(fleet, &url, plan.idle_sessions).await?;
    eprintln!("moat-bench: large results");
    let payloads = extras::payloads(fleet, &plan.payload_sizes, plan.payload_repeats).await?;
    Ok((Some(idle), payloads, list))
}

fn count_errors(r: &Report) -> u64 {
    let phases = r
        .configurations
        .iter()
        .flat_map(|c| std::iter::once(&c.saturation).chain(&c.rates))
        .map(|p| p.errors)
        .sum::<u64>();
    phases + r.payloads.iter().filter(|p| p.error.is_some()).count() as u64
}

fn write(r: &Report, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = dir.join(format!("{}-{}{}", r.date, r.commit, suffix(r.plan.mode)));
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(r)?,
    )?;
    std::fs::write(stem.with_extension("md"), markdown::render(r))?;
    eprintln!("moat-bench: wrote {}.json and .md", stem.display());
    Ok(())
}

fn suffix(mode: &str) -> String {
    if mode == "full" {
        String::new()
    } else {
        format!("-{mode}")
    }
}

/// The Markdown tables of a report.
pub fn render(r: &Report) -> String {
    markdown::render(r)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine(load_before: String, release_build: bool) -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_default()
        * 1024;
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        memory,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        load_before,
        load_after: loadavg(),
        release_build,
    }
}

/// The commit of the tree measured, from `git` in the repository this crate is in.
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days, proleptic Gregorian).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
        assert_eq!(civil(20_454), (2026, 1, 1));
    }
}
