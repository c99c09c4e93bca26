//! The network: which of the addresses and ports the user names answer as MCP servers.
//!
//! Each address:port is first connected to (refused: `closed`; no answer: `filtered`). An open
//! port is then asked, over plain HTTP (or HTTPS with normal certificate verification):
//! 1. `POST /mcp`, then `POST /`: an MCP `initialize` (protocol 2025-11-25, accepting JSON and
//!    SSE); failing that, the 2026-07-28 stateless `server/discover`;
//! 2. `GET /sse`: a legacy HTTP+SSE server's `endpoint` event, then `initialize` posted to that
//!    endpoint (same origin only) for its name.
//!
//! A `401` whose `WWW-Authenticate` names `resource_metadata` (MCP authorization) counts as a
//! protected MCP server. A port whose first request gets no HTTP answer is `open-not-http`
//! and is asked nothing more. Nothing is sent anywhere but the addresses given: no proxy, no
//! redirects followed.
//!
//! The HTTP client is reqwest (the workspace's, rustls): it gives HTTP and HTTPS with platform
//! certificate verification through one API, and a per-request deadline that covers reading
//! the body, which is what bounds a probe of a server that answers slowly or streams forever.

mod answer;
mod exchange;
mod targets;

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::error::Error;
use crate::shadow::Endpoint;

pub use targets::{Host, MAX_ADDRESSES, parse_ports, parse_targets};

/// The default cap on addresses x ports.
pub const MAX_PROBES: u64 = 1 << 20;

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Probes in flight at once (at least 1).
    pub concurrency: usize,
    /// The deadline of each step: the TCP connect, and each HTTP exchange including its body.
    pub timeout: Duration,
    /// Use HTTPS (certificates verified as usual) instead of plain HTTP.
    pub https: bool,
    /// Keep closed and filtered ports in the output.
    pub include_closed: bool,
    /// The cap on addresses x ports.
    pub max_probes: u64,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            timeout: Duration::from_secs(2),
            https: false,
            include_closed: false,
            max_probes: MAX_PROBES,
        }
    }
}

/// What one address:port turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The host as given (or the address of a CIDR block).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The verdict.
    pub state: PortState,
    /// For `mcp`: the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<McpServer>,
    /// For `http-not-mcp`: the status of the first HTTP answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// For `open-not-http`: why the first request got no HTTP answer (a timeout, a protocol
    /// error, a TLS certificate that does not verify, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The verdict on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortState {
    /// An MCP server answered.
    Mcp,
    /// An HTTP server answered, but not as MCP.
    HttpNotMcp,
    /// The port accepts connections but gave no HTTP answer.
    OpenNotHttp,
    /// The connection was refused.
    Closed,
    /// No answer to the connection (or the name did not resolve).
    Filtered,
}

impl PortState {
    /// Whether something listens.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Mcp | Self::HttpNotMcp | Self::OpenNotHttp)
    }

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mcp => "mcp",
            Self::HttpNotMcp => "http-not-mcp",
            Self::OpenNotHttp => "open-not-http",
            Self::Closed => "closed",
            Self::Filtered => "filtered",
        }
    }
}

/// An MCP server found on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpServer {
    /// The endpoint that answered.
    pub url: String,
    /// Its path.
    pub path: String,
    /// The transport.
    pub transport: McpTransport,
    /// What showed it is MCP.
    pub evidence: Evidence,
    /// `serverInfo.name`, when it said.
    pub name: Option<String>,
    /// `serverInfo.version`, when it said.
    pub version: Option<String>,
    /// The protocol revision it answered with (for `server/discover`: the newest it supports).
    pub protocol_version: Option<String>,
    /// It requires authorization (it answered `401` with a `resource_metadata` challenge).
    pub protected: bool,
    /// The protected-resource metadata URL of that challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_metadata: Option<String>,
}

/// MCP transports probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum McpTransport {
    /// Streamable HTTP (2025-03-26 and later).
    StreamableHttp,
    /// Legacy HTTP+SSE (2024-11-05).
    Sse,
}

/// What showed that a port speaks MCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// An `initialize` result.
    Initialize,
    /// A 2026-07-28 `server/discover` result.
    ServerDiscover,
    /// A legacy SSE `endpoint` event (no `initialize` answer came on the stream).
    EndpointEvent,
    /// A `401` with an MCP authorization challenge.
    AuthChallenge,
}

impl Probe {
    /// The endpoint of the MCP server found, for matching against upstreams.
    pub fn endpoint(&self) -> Option<Endpoint> {
        let server = self.server.as_ref()?;
        Some(Endpoint::new(&self.host, self.port, &server.path))
    }
}

/// Probes every port of every target, `options.concurrency` at a time. The result keeps the
/// targets' order, then ports in ascending order; closed and filtered ports are left out unless
/// `options.include_closed`.
pub async fn probe(
    targets: &[Host],
    ports: &[u16],
    options: &ProbeOptions,
) -> Result<Vec<Probe>, Error> {
    let count = targets.len() as u128 * ports.len() as u128;
    if count > u128::from(options.max_probes) {
        return Err(Error::TooManyProbes {
            count,
            max: options.max_probes,
        });
    }
    let client = exchange::client(options)?;
    let client = &client;
    let jobs = targets
        .iter()
        .enumerate()
        .flat_map(|(i, host)| ports.iter().map(move |&port| (i, host, port)));
    let mut done: Vec<(usize, Probe)> = futures::stream::iter(jobs)
        .map(|(i, host, port)| async move { (i, probe_one(client, host, port, options).await) })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    done.retain(|(_, p)| options.include_closed || p.state.is_open());
    done.sort_by_key(|(i, p)| (*i, p.port));
    Ok(done.into_iter().map(|(_, p)| p).collect())
}

async fn probe_one(
    client: &reqwest::Client,
    host: &Host,
    port: u16,
    options: &ProbeOptions,
) -> Probe {
    let mut probe = Probe {
        host: host.to_string(),
        port,
        state: PortState::Closed,
        server: None,
        http_status: None,
        detail: None,
    };
    let addr = format!("{}:{port}", host.url_host());
    let connect = tokio::net::TcpStream::connect(addr.as_str());
    match tokio::time::timeout(options.timeout, connect).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return probe,
        Ok(Err(_)) | Err(_) => {
            probe.state = PortState::Filtered;
            return probe;
        }
    }
    let scheme = if options.https { "https" } else { "http" };
    match exchange::identify(client, &format!("{scheme}://{addr}")).await {
        exchange::Outcome::Mcp(server) => {
            probe.state = PortState::Mcp;
            probe.server = Some(server);
        }
        exchange::Outcome::Http(status) => {
            probe.state = PortState::HttpNotMcp;
            probe.http_status = Some(status);
        }
        exchange::Outcome::NotHttp(why) => {
            probe.state = PortState::OpenNotHttp;
            probe.detail = Some(why);
        }
    }
    probe
}

#[cfg(test)]
mod tests;
