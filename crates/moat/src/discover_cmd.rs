//! `moat discover code DIR` and `moat discover net TARGETS --ports …`: MCP servers moat does
//! not front, from source trees and client configs or from the network, each reported
//! `registered` (an upstream of `--config` reaches it) or `shadow`.
//!
//! Exit status: 0, or 3 with `--fail-on-shadow` when a shadow server was found; errors 1.

use std::process::ExitCode;

use anyhow::{Context, Result};
use moat_discover::code::{DeclaredTransport, Finding};
use moat_discover::net::{self, Probe, ProbeOptions};
use moat_discover::report::{self, Assessed, Summary};
use moat_discover::shadow::{self, KnownUpstream, Registration};
use serde::Serialize;

use crate::cli::{DiscoverArgs, DiscoverCommand, DiscoverCommon, Format};
use crate::config_args;

/// The exit status when `--fail-on-shadow` finds a shadow server.
const SHADOW_FOUND: u8 = 3;

pub(crate) async fn run(args: DiscoverArgs) -> Result<ExitCode> {
    match args.command {
        DiscoverCommand::Code { dir, common } => {
            let known = known(&common)?;
            let scan = moat_discover::code::scan(&dir)?;
            let report = report::code_report(&dir, scan, &known);
            for p in &report.problems {
                eprintln!("warning: {}: {}", p.file, p.message);
            }
            match common.format {
                Format::Json => print_json(&report)?,
                Format::Table => print_code_table(&report.findings, report.summary),
            }
            Ok(status(&common, report.summary))
        }
        DiscoverCommand::Net {
            targets,
            ports,
            concurrency,
            timeout,
            https,
            all,
            max_addresses,
            common,
        } => {
            let known = known(&common)?;
            let hosts = net::parse_targets(&targets, max_addresses)?;
            let ports = net::parse_ports(&ports)?;
            let options = ProbeOptions {
                concurrency,
                timeout: timeout.into(),
                https,
                include_closed: all,
                ..ProbeOptions::default()
            };
            let probes = net::probe(&hosts, &ports, &options).await?;
            let report = report::net_report(probes, &known);
            match common.format {
                Format::Json => print_json(&report)?,
                Format::Table => print_net_table(&report.probes, report.summary),
            }
            Ok(status(&common, report.summary))
        }
    }
}

/// The upstreams of `--config` (none without it).
fn known(common: &DiscoverCommon) -> Result<Vec<KnownUpstream>> {
    let Some(path) = &common.config else {
        return Ok(Vec::new());
    };
    let config = config_args::load(Some(path), &config_args::Overrides::default())?;
    Ok(shadow::known_upstreams(&config))
}

fn status(common: &DiscoverCommon, summary: Summary) -> ExitCode {
    if common.fail_on_shadow && summary.shadow > 0 {
        ExitCode::from(SHADOW_FOUND)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_json(report: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(report).context("cannot write the report")?;
    println!("{text}");
    Ok(())
}

fn print_code_table(findings: &[Assessed<Finding>], summary: Summary) {
    let mut rows = vec![["STATUS", "KIND", "NAME", "WHERE", "DETAIL"].map(str::to_owned)];
    for f in findings {
        let status = registration_text(f.registration.as_ref());
        let row = match &f.item {
            Finding::Implementation(i) => [
                status,
                format!("code ({})", i.language.as_str()),
                i.sdk.as_str().to_owned(),
                format!("{}:{}", i.file, i.line),
                String::new(),
            ],
            Finding::Declared(d) => [
                status,
                format!("config ({})", d.format.as_str()),
                d.name.clone(),
                match d.line {
                    Some(line) => format!("{}:{line}", d.file),
                    None => d.file.clone(),
                },
                transport_text(&d.transport, d.project.as_deref()),
            ],
        };
        rows.push(row);
    }
    print_rows(&rows);
    print_summary(summary);
}

fn transport_text(t: &DeclaredTransport, project: Option<&str>) -> String {
    let mut text = match t {
        DeclaredTransport::Stdio { command, args, env } => {
            let mut s = format!("stdio: {command}");
            for a in args {
                s.push(' ');
                s.push_str(a);
            }
            if !env.is_empty() {
                s.push_str(&format!(" [env: {}]", env.join(", ")));
            }
            s
        }
        DeclaredTransport::Http { url, headers } | DeclaredTransport::Sse { url, headers } => {
            let kind = if matches!(t, DeclaredTransport::Sse { .. }) {
                "sse"
            } else {
                "http"
            };
            let mut s = format!("{kind}: {url}");
            if !headers.is_empty() {
                s.push_str(&format!(" [headers: {}]", headers.join(", ")));
            }
            s
        }
    };
    if let Some(p) = project {
        text.push_str(&format!(" (project {p})"));
    }
    text
}

fn print_net_table(probes: &[Assessed<Probe>], summary: Summary) {
    let mut rows = vec![["ADDRESS", "STATE", "SERVER", "ENDPOINT", "STATUS"].map(str::to_owned)];
    for p in probes {
        let probe = &p.item;
        let host = if probe.host.contains(':') {
            format!("[{}]", probe.host)
        } else {
            probe.host.clone()
        };
        let (server, endpoint) = match &probe.server {
            Some(s) => {
                let name = [s.name.as_deref(), s.version.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut endpoint = format!("{} {}", serde_plain(&s.transport), s.path);
                if let Some(v) = &s.protocol_version {
                    endpoint.push_str(&format!(" ({v})"));
                }
                if s.protected {
                    endpoint.push_str(" [protected]");
                }
                (
                    if name.is_empty() {
                        "(unnamed)".to_owned()
                    } else {
                        name
                    },
                    endpoint,
                )
            }
            None => (
                match (probe.http_status, &probe.detail) {
                    (Some(status), _) => format!("HTTP {status}"),
                    (None, Some(detail)) => detail.clone(),
                    (None, None) => String::new(),
                },
                String::new(),
            ),
        };
        rows.push([
            format!("{host}:{}", probe.port),
            probe.state.as_str().to_owned(),
            server,
            endpoint,
            p.registration
                .as_ref()
                .map(|r| registration_text(Some(r)))
                .unwrap_or_default(),
        ]);
    }
    print_rows(&rows);
    print_summary(summary);
}

/// A unit enum's serde name.
fn serde_plain(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn registration_text(r: Option<&Registration>) -> String {
    match r {
        Some(Registration::Registered { upstream }) => format!("registered ({upstream})"),
        Some(Registration::Shadow) => "shadow".to_owned(),
        None => String::new(),
    }
}

fn print_rows<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", line.trim_end());
    }
}

fn print_summary(summary: Summary) {
    println!(
        "\n{} MCP server(s): {} shadow, {} registered",
        summary.servers, summary.shadow, summary.registered
    );
}
