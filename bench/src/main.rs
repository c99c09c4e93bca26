//! `moat-bench`: measures moat against the direct path (`run`), or drives one endpoint (`load`).
//!
//! ```sh
//! bench/run.sh [--quick | --smoke]                 # builds, then `moat-bench run`
//! moat-bench load --url http://127.0.0.1:8940/mcp --rate 1000 --seconds 10
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use moat_bench::load::client::{Endpoint, Workload};
use moat_bench::load::{Outcome, Stop, closed_loop, open_loop};
use moat_bench::runner::{self, CONFIGURATIONS, Plan, RunOptions};

/// moat's benchmark runner and MCP load generator.
#[derive(Debug, Parser)]
#[command(name = "moat-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure every configuration A/B/A/B and write bench/results/<date>-<commit>.{json,md}.
    Run(RunArgs),
    /// Drive one MCP endpoint with `tools/call` and print latency percentiles.
    Load(LoadArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Shorter phases (3 s instead of 10 s).
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// A few hundred checked calls per configuration, no timing; non-zero exit on any error.
    #[arg(long)]
    smoke: bool,
    /// Only these configurations (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = CONFIGURATIONS.map(String::from))]
    only: Vec<String>,
    /// The moat executable (default: next to moat-bench).
    #[arg(long)]
    moat: Option<PathBuf>,
    /// Where results go (default: bench/results, or a temporary folder for --smoke).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the idle-session and large-payload checks.
    #[arg(long)]
    skip_extras: bool,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// The MCP endpoint.
    #[arg(long)]
    url: String,
    /// Connections, one session each.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Requests per second (open loop); closed loop when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Length of the run.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Tool to call (repeatable: called in turn).
    #[arg(long, default_value = "echo")]
    tool: Vec<String>,
    /// Size of the echoed text.
    #[arg(long, default_value_t = 1024)]
    text_bytes: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("moat-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async {
        match cli.command {
            Command::Run(a) => run(a).await,
            Command::Load(a) => load(a).await,
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("moat-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(a: RunArgs) -> Result<bool> {
    let mode = if a.smoke {
        "smoke"
    } else if a.quick {
        "quick"
    } else {
        "full"
    };
    let opts = RunOptions {
        only: a.only,
        moat: a.moat,
        out: a.out.unwrap_or_else(|| match mode {
            "smoke" => std::env::temp_dir().join("moat-bench-smoke"),
            _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results")),
        }),
        skip_extras: a.skip_extras,
    };
    let report = runner::run(Plan::new(mode), opts).await?;
    println!("{}", runner::render(&report));
    if report.errors > 0 {
        eprintln!("moat-bench: {} wrong or missing answers", report.errors);
    }
    Ok(report.errors == 0)
}

async fn load(a: LoadArgs) -> Result<bool> {
    let endpoint = Arc::new(Endpoint::parse(&a.url)?);
    let work = Workload {
        tools: a.tool.into(),
        text_bytes: a.text_bytes,
    };
    let mut conns = Vec::with_capacity(a.connections);
    for i in 0..a.connections {
        conns.push(moat_bench::load::client::McpConn::open(endpoint.clone(), i).await?);
    }
    let duration = Duration::from_secs_f64(a.seconds);
    let (conns, out): (_, Outcome) = match a.rate {
        Some(r) => open_loop(conns, &work, r, duration).await,
        None => closed_loop(conns, &work, Stop::After(duration)).await,
    };
    for c in conns {
        c.close().await;
    }
    let s = out.latencies.summary();
    println!(
        "{} calls, {} errors, {:.0}/s; p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        out.calls,
        out.errors,
        out.throughput(),
        s.p50_us / 1e3,
        s.p90_us / 1e3,
        s.p99_us / 1e3,
        s.p999_us / 1e3,
        s.max_us / 1e3
    );
    if let Some(e) = out.first_error {
        eprintln!("first error: {e}");
    }
    Ok(out.errors == 0)
}
