//! `moat scan`: the poisoning scanner on tool definitions from a file, or listed from a server
//! started or reached as moat would.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use moat_scan::{Report, Scanner, Severity};
use serde_json::Value;

use crate::cli::{ScanArgs, ScanFormat};

/// The name definitions read from a file are scanned under (one server).
const FILE_SERVER: &str = "scanned";

pub(crate) async fn run(args: ScanArgs) -> Result<ExitCode> {
    let fail_on = match args.fail_on.as_str() {
        "none" => None,
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        other => bail!("--fail-on {other:?}: low, medium, high, critical or none"),
    };
    let (server, definitions, source) = match (&args.file, &args.stdio, &args.url) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            (
                FILE_SERVER.to_owned(),
                tools_of(value).with_context(|| format!("{}: no tools", path.display()))?,
                Some(path.display().to_string()),
            )
        }
        (None, Some(command), _) => listed(&format!("stdio:{command}")).await?,
        (None, None, Some(url)) => listed(url).await?,
        (None, None, None) => bail!("give --file, --stdio or --url"),
    };
    let mut context = moat_scan::Context::new().server(&server);
    for d in &definitions {
        if let Some(name) = d.get("name").and_then(Value::as_str) {
            context = context.tool(&server, name);
        }
    }
    let scanner = Scanner::new(&context)?;
    let reports: Vec<Report> = definitions
        .iter()
        .map(|d| scanner.scan_for(&server, d))
        .collect();
    let text = match args.format {
        ScanFormat::Table => moat_scan::report::table(&reports),
        ScanFormat::Json => moat_scan::report::json(&reports),
        ScanFormat::Sarif => moat_scan::report::sarif(&reports, source.as_deref()),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    let failed = fail_on.is_some_and(|min| reports.iter().any(|r| r.is_flagged(min)));
    Ok(if failed {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Starts or reaches one server (an `--upstream` spec) and lists what it shows.
async fn listed(spec: &str) -> Result<(String, Vec<Value>, Option<String>)> {
    let overrides = crate::config_args::Overrides {
        listen: None,
        upstreams: vec![format!("scanned={spec}")],
        prefix: None,
    };
    let config = crate::config_args::load(None, &overrides)?;
    let self_exe = std::env::current_exe().context("cannot locate the moat executable")?;
    let listed = moat_gateway::list_definitions(&config, self_exe).await?;
    let definitions = listed
        .into_iter()
        .flat_map(|(_, found)| found.into_iter().map(|(_, v)| v))
        .collect();
    Ok((FILE_SERVER.to_owned(), definitions, Some(spec.to_owned())))
}

/// The tools of a `tools/list` result, a JSON-RPC response carrying one, or a bare array.
fn tools_of(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(mut o) => {
            if let Some(Value::Array(tools)) = o.remove("tools") {
                return Some(tools);
            }
            o.remove("result").and_then(tools_of)
        }
        _ => None,
    }
}
