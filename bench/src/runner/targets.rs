//! The configurations under test and the processes behind them.
//!
//! Each configuration is an endpoint the load generator calls, the tool names it calls there,
//! and the moat process (if any) whose CPU and memory are measured. `moat-auth` is moat with
//! every governance stage built so far (today: bearer-token validation); as stages land, each
//! is switched on in its config section ([`governed`]) and the credentials its calls need are
//! added to the endpoint, so the same configuration keeps meaning "full governance".

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use anyhow::Result;

use super::auth::Issuer;
use super::procs::{Binaries, Proc, free_addr};
use crate::load::client::{Endpoint, Workload};

/// Upstream servers in the federated configuration.
pub const FEDERATED_SERVERS: usize = 10;
/// Tools each of them exposes (10 × 100 = 1,000 tools through moat).
pub const TOOLS_PER_SERVER: usize = 100;

/// Every configuration the runner knows, in measuring order.
pub const ALL: [&str; 5] = ["direct", "moat", "moat-auth", "moat-stdio", "federated"];

/// A configuration under test.
pub struct Target {
    /// Short name (`direct`, `moat`, …).
    pub name: &'static str,
    /// What the path is, for the report.
    pub description: String,
    /// Where the load generator sends.
    pub endpoint: Arc<Endpoint>,
    /// What it sends.
    pub workload: Workload,
    /// The moat process on the path, if any.
    pub moat: Option<u32>,
    /// The HTTP upstream process, if there is exactly one.
    pub upstream: Option<u32>,
}

/// Every process started for a run; all are ended when it is dropped.
pub struct Fleet {
    bins: Binaries,
    logs: PathBuf,
    procs: Vec<Proc>,
}

/// One upstream as moat's config names it.
pub enum UpstreamSpec {
    /// A Streamable HTTP server at this URL.
    Http(String),
    /// A child process over stdio.
    Stdio(PathBuf, Vec<String>),
}

/// A moat configuration.
pub struct MoatSpec {
    /// `(name, upstream)` pairs.
    pub upstreams: Vec<(String, UpstreamSpec)>,
    /// `federation.prefix`.
    pub prefix: &'static str,
    /// More YAML appended to the file (governance stages, later).
    pub extra: String,
}

impl Fleet {
    /// An empty fleet whose logs go to `logs`.
    pub fn new(bins: Binaries, logs: PathBuf) -> Self {
        Self {
            bins,
            logs,
            procs: Vec::new(),
        }
    }

    /// The executables in use.
    pub fn bins(&self) -> &Binaries {
        &self.bins
    }

    /// Starts a benchmark upstream over HTTP; returns its URL and pid.
    pub fn upstream(&mut self, name: &str, args: &[&str]) -> Result<(String, u32)> {
        let addr = free_addr()?;
        let mut cmd = Command::new(&self.bins.upstream);
        cmd.arg("--listen").arg(addr.to_string()).args(args);
        let mut p = Proc::spawn(name, cmd, &self.logs)?;
        p.wait_listening(addr)?;
        let pid = p.pid();
        self.procs.push(p);
        Ok((format!("http://{addr}/mcp"), pid))
    }

    /// Starts moat with `spec`; returns its endpoint and pid.
    pub fn moat(&mut self, name: &str, spec: &MoatSpec) -> Result<(Arc<Endpoint>, u32)> {
        let addr = free_addr()?;
        let path = self.logs.join(format!("{name}.yaml"));
        let resource = format!("http://{addr}/mcp");
        let yaml = moat_yaml(&addr.to_string(), spec).replace("{resource}", &resource);
        std::fs::write(&path, yaml)?;
        let mut cmd = Command::new(&self.bins.moat);
        cmd.arg("serve").arg("--config").arg(&path);
        let mut p = Proc::spawn(name, cmd, &self.logs)?;
        p.wait_listening(addr)?;
        let pid = p.pid();
        self.procs.push(p);
        Ok((Arc::new(Endpoint::parse(&resource)?), pid))
    }

    /// Where logs and generated files go.
    pub fn dir(&self) -> &std::path::Path {
        &self.logs
    }

    /// The stdio upstream command.
    pub fn stdio_upstream(&self) -> UpstreamSpec {
        UpstreamSpec::Stdio(self.bins.upstream.clone(), vec!["--stdio".into()])
    }
}

/// Starts the configurations named in `wanted` (see [`ALL`]).
pub fn start(fleet: &mut Fleet, wanted: &[String], text_bytes: usize) -> Result<Vec<Target>> {
    let want = |n: &str| wanted.iter().any(|w| w == n);
    let echo = |tools: Vec<String>| Workload {
        tools: tools.into(),
        text_bytes,
    };
    let mut targets = Vec::new();
    let (url, upstream) = fleet.upstream("upstream", &[])?;
    if want("direct") {
        targets.push(Target {
            name: "direct",
            description: "client → upstream (Streamable HTTP, JSON)".into(),
            endpoint: Arc::new(Endpoint::parse(&url)?),
            workload: echo(vec!["echo".into()]),
            moat: None,
            upstream: Some(upstream),
        });
    }
    if want("moat") {
        let spec = single("up", UpstreamSpec::Http(url.clone()));
        let (endpoint, pid) = fleet.moat("moat", &spec)?;
        targets.push(Target {
            name: "moat",
            description: "client → moat (no stages) → upstream over Streamable HTTP".into(),
            endpoint,
            workload: echo(vec!["echo".into()]),
            moat: Some(pid),
            upstream: Some(upstream),
        });
    }
    if want("moat-auth") {
        targets.push(governed(fleet, &url, upstream, echo(vec!["echo".into()]))?);
    }
    if want("moat-stdio") {
        let spec = single("up", fleet.stdio_upstream());
        let (endpoint, pid) = fleet.moat("moat-stdio", &spec)?;
        targets.push(Target {
            name: "moat-stdio",
            description: "client → moat → upstream child process over stdio (one per session)"
                .into(),
            endpoint,
            workload: echo(vec!["echo".into()]),
            moat: Some(pid),
            upstream: None,
        });
    }
    if want("federated") {
        targets.push(federated(fleet, echo)?);
    }
    Ok(targets)
}

/// moat with every governance stage that exists, on the same upstream as `moat`.
fn governed(fleet: &mut Fleet, url: &str, upstream: u32, workload: Workload) -> Result<Target> {
    let jwks = fleet.dir().join("jwks.json");
    let issuer = Issuer::new(&jwks)?;
    let spec = MoatSpec {
        extra: Issuer::config(&jwks),
        ..single("up", UpstreamSpec::Http(url.to_owned()))
    };
    let (endpoint, pid) = fleet.moat("moat-auth", &spec)?;
    let token = issuer.token(&endpoint.url())?;
    Ok(Target {
        name: "moat-auth",
        description: "client → moat with every governance stage built so far (bearer JWT validation: EdDSA, issuer, audience, lifetime, required scope) → upstream over Streamable HTTP".into(),
        endpoint: Arc::new(Endpoint::clone(&endpoint).with_bearer(&token)?),
        workload,
        moat: Some(pid),
        upstream: Some(upstream),
    })
}

fn federated(fleet: &mut Fleet, echo: impl Fn(Vec<String>) -> Workload) -> Result<Target> {
    let tools = TOOLS_PER_SERVER.to_string();
    let mut upstreams = Vec::new();
    for i in 0..FEDERATED_SERVERS {
        let (url, _) = fleet.upstream(&format!("fed-upstream-{i}"), &["--tools", &tools])?;
        upstreams.push((format!("s{i}"), UpstreamSpec::Http(url)));
    }
    let spec = MoatSpec {
        upstreams,
        prefix: "always",
        extra: String::new(),
    };
    let (endpoint, pid) = fleet.moat("federated", &spec)?;
    Ok(Target {
        name: "federated",
        description: format!(
            "client → moat → {FEDERATED_SERVERS} upstreams over Streamable HTTP, {} tools; calls spread over all",
            FEDERATED_SERVERS * TOOLS_PER_SERVER
        ),
        endpoint,
        workload: echo(
            (0..FEDERATED_SERVERS)
                .map(|i| format!("s{i}__echo"))
                .collect(),
        ),
        moat: Some(pid),
        upstream: None,
    })
}

/// A moat with one upstream, its names unprefixed.
pub fn single(name: &str, upstream: UpstreamSpec) -> MoatSpec {
    MoatSpec {
        upstreams: vec![(name.to_owned(), upstream)],
        prefix: "conditional",
        extra: String::new(),
    }
}

fn moat_yaml(listen: &str, spec: &MoatSpec) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut y = format!(
        "listen: {listen}\nfederation:\n  prefix: {}\nupstreams:\n",
        spec.prefix
    );
    for (name, up) in &spec.upstreams {
        // The bench's own servers: approved as first seen (and pinned), as quick mode does.
        let _ = writeln!(y, "  {name}:\n    approval: auto");
        match up {
            UpstreamSpec::Http(url) => {
                let _ = writeln!(y, "    http:\n      url: {}", q(url));
            }
            UpstreamSpec::Stdio(cmd, args) => {
                let args: Vec<String> = args.iter().map(|a| q(a)).collect();
                let _ = writeln!(
                    y,
                    "    stdio:\n      command: {}\n      args: [{}]",
                    q(&cmd.to_string_lossy()),
                    args.join(", ")
                );
            }
        }
    }
    y.push_str(&spec.extra);
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_yaml_moat_reads() {
        let spec = MoatSpec {
            upstreams: vec![
                (
                    "a".into(),
                    UpstreamSpec::Http("http://127.0.0.1:1/mcp".into()),
                ),
                (
                    "b".into(),
                    UpstreamSpec::Stdio("/x y/up".into(), vec!["--stdio".into()]),
                ),
            ],
            prefix: "always",
            extra: String::new(),
        };
        let y = moat_yaml("127.0.0.1:2", &spec);
        assert!(
            y.contains(
                "  a:\n    approval: auto\n    http:\n      url: \"http://127.0.0.1:1/mcp\"\n"
            ),
            "{y}"
        );
        assert!(
            y.contains("command: \"/x y/up\"\n      args: [\"--stdio\"]"),
            "{y}"
        );
    }
}
