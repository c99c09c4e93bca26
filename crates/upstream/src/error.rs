//! Upstream failures, always naming the server.

use std::time::Duration;

use moat_config::UpstreamName;
use moat_proto::{ErrorObject, codes};

/// Something went wrong talking to one upstream server.
#[derive(Debug, Clone, thiserror::Error)]
#[error("upstream \"{server}\": {kind}")]
pub struct UpstreamError {
    /// The server.
    pub server: UpstreamName,
    /// What happened.
    pub kind: UpstreamErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamErrorKind {
    /// The process could not be started or the endpoint not reached.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection ended (process exited, stream closed, session expired).
    #[error("connection closed: {0}")]
    Closed(String),
    /// No answer within the configured timeout.
    #[error("no response within {}", humanize(*.0))]
    Timeout(Duration),
    /// The server answered with something that is not MCP.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// As many requests as the server may have (`max_concurrency`) stayed in flight for the
    /// whole timeout.
    #[error("busy: {limit} requests in flight, none finished within {}", humanize(*.waited))]
    Busy { limit: u32, waited: Duration },
}

fn humanize(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl UpstreamError {
    pub(crate) fn new(server: &UpstreamName, kind: UpstreamErrorKind) -> Self {
        Self {
            server: server.clone(),
            kind,
        }
    }

    /// The server had no free slot for a request within `waited`.
    pub fn busy(server: &UpstreamName, limit: u32, waited: Duration) -> Self {
        Self::new(server, UpstreamErrorKind::Busy { limit, waited })
    }

    /// The JSON-RPC error a client gets for this failure.
    pub fn to_error_object(&self) -> ErrorObject {
        let code = match self.kind {
            UpstreamErrorKind::Timeout(_) | UpstreamErrorKind::Busy { .. } => {
                codes::UPSTREAM_TIMEOUT
            }
            _ => codes::UPSTREAM_UNAVAILABLE,
        };
        ErrorObject::new(code, self.to_string())
            .with_data(serde_json::json!({ "server": self.server.as_str() }))
    }
}
