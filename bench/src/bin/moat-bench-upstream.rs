//! `moat-bench-upstream`: the fast MCP server the benchmarks call, directly and through moat.
//!
//! ```sh
//! moat-bench-upstream --listen 127.0.0.1:9100 [--tools 100] [--sse] [--threads 2]
//! moat-bench-upstream --stdio [--tools 100]
//! ```

use std::process::ExitCode;

use clap::Parser;
use moat_bench::upstream::{Server, http, stdio};

/// A fast, stateless MCP server with `echo` and `payload` tools, for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "moat-bench-upstream", version)]
struct Args {
    /// Serve Streamable HTTP at http://ADDR/mcp (any path is accepted).
    #[arg(long, conflicts_with = "stdio", required_unless_present = "stdio")]
    listen: Option<String>,
    /// Serve newline-delimited JSON-RPC on stdin/stdout instead.
    #[arg(long)]
    stdio: bool,
    /// How many tools to expose (`echo`, `payload`, then `tool_2` …).
    #[arg(long, default_value_t = 2)]
    tools: usize,
    /// Answer `tools/call` as a one-event SSE stream instead of JSON.
    #[arg(long, conflicts_with = "stdio")]
    sse: bool,
    /// Runtime worker threads for HTTP (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let server = Server::new(args.tools);
    let outcome = match &args.listen {
        None => stdio::serve(&server),
        Some(addr) => serve_http(addr, server, &args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moat-bench-upstream: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_http(addr: &str, server: Server, args: &Args) -> std::io::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n);
    }
    let framing = if args.sse {
        http::Framing::Sse
    } else {
        http::Framing::Json
    };
    rt.enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("listening on http://{}/mcp", listener.local_addr()?);
        http::serve(listener, server, framing).await
    })
}
