//! Checks every request passes before it reaches a session: `Host` and `Origin` against the
//! allowlists (DNS-rebinding defence), and the protocol version header.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};
use moat_config::HostPolicy;
use moat_proto::ProtocolVersion;

/// Why a request was turned away before any JSON-RPC processing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Host(String),
    Origin(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host(h) => write!(f, "Host {h:?} is not allowed"),
            Self::Origin(o) => write!(f, "Origin {o:?} is not allowed"),
        }
    }
}

/// Checks `Host` (or, over HTTP/2, the request's `:authority`) and `Origin`.
pub(crate) fn check_host_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    policy: &HostPolicy,
) -> Result<(), Refusal> {
    if !policy.hosts.is_empty() {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bare = strip_port(&host);
        if !policy.hosts.iter().any(|h| *h == host || h == bare) {
            return Err(Refusal::Host(host));
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
        if !policy.origins.contains(&origin) {
            return Err(Refusal::Origin(origin));
        }
    }
    Ok(())
}

/// Middleware in front of every route: requests with a foreign `Host` or `Origin` get 403
/// before anything else looks at them.
pub(crate) async fn host_origin_layer(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::state::GatewayState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let authority = req.uri().authority().map(|a| a.as_str());
    if let Err(refusal) = check_host_origin(req.headers(), authority, &state.config.load().hosts) {
        tracing::warn!("refused: {refusal}");
        return super::reply::http_error(
            http::StatusCode::FORBIDDEN,
            moat_proto::codes::INVALID_REQUEST,
            refusal.to_string(),
        );
    }
    next.run(req).await
}

/// `host:port` → `host`, keeping bracketed IPv6 literals whole.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    })
}

/// The `MCP-Protocol-Version` header: absent means 2025-03-26 (per spec); unknown is an error.
pub(crate) fn protocol_version(headers: &HeaderMap) -> Result<Option<ProtocolVersion>, String> {
    match headers.get("mcp-protocol-version") {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| "MCP-Protocol-Version is not ASCII".to_owned())?;
            s.parse()
                .map(Some)
                .map_err(|e: moat_proto::UnsupportedVersion| e.to_string())
        }
    }
}

/// Whether the client accepts a media type (`*/*` and `type/*` count).
pub(crate) fn accepts(headers: &HeaderMap, media: &str) -> bool {
    let Some(accept) = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let major = media.split('/').next().unwrap_or_default();
    accept
        .split(',')
        .map(|p| p.split(';').next().unwrap_or_default().trim())
        .any(|m| m == media || m == "*/*" || m.strip_suffix("/*") == Some(major))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn local() -> HostPolicy {
        moat_config::Config::from_yaml("listen: 127.0.0.1:8940\n", "t")
            .unwrap()
            .hosts
    }

    #[test]
    fn loopback_default_allows_local_names_only() {
        let p = local();
        assert_eq!(
            check_host_origin(&headers(&[("host", "localhost:8940")]), None, &p),
            Ok(())
        );
        // HTTP/2 has no Host header: the request's authority stands in.
        assert_eq!(
            check_host_origin(&HeaderMap::new(), Some("localhost:8940"), &p),
            Ok(())
        );
        assert!(check_host_origin(&HeaderMap::new(), Some("evil.example"), &p).is_err());
        assert!(check_host_origin(&HeaderMap::new(), None, &p).is_err());
        assert_eq!(
            check_host_origin(&headers(&[("host", "[::1]:8940")]), None, &p),
            Ok(())
        );
        assert_eq!(
            check_host_origin(&headers(&[("host", "127.0.0.1")]), None, &p),
            Ok(())
        );
        assert!(matches!(
            check_host_origin(&headers(&[("host", "evil.example:8940")]), None, &p),
            Err(Refusal::Host(_))
        ));
        let rebinding = headers(&[
            ("host", "localhost:8940"),
            ("origin", "http://evil.example"),
        ]);
        assert!(matches!(
            check_host_origin(&rebinding, None, &p),
            Err(Refusal::Origin(_))
        ));
        let ok = headers(&[
            ("host", "localhost:8940"),
            ("origin", "http://localhost:8940"),
        ]);
        assert_eq!(check_host_origin(&ok, None, &p), Ok(()));
        assert!(
            check_host_origin(
                &headers(&[("host", "localhost"), ("origin", "null")]),
                None,
                &p
            )
            .is_err()
        );
    }

    #[test]
    fn version_header() {
        assert_eq!(protocol_version(&headers(&[])), Ok(None));
        assert_eq!(
            protocol_version(&headers(&[("mcp-protocol-version", "2025-06-18")])),
            Ok(Some(ProtocolVersion::V2025_06_18))
        );
        assert!(protocol_version(&headers(&[("mcp-protocol-version", "2099-01-01")])).is_err());
    }

    #[test]
    fn accept_matching() {
        assert!(accepts(
            &headers(&[("accept", "application/json, text/event-stream")]),
            "text/event-stream"
        ));
        assert!(accepts(
            &headers(&[("accept", "text/*;q=0.5")]),
            "text/event-stream"
        ));
        assert!(!accepts(
            &headers(&[("accept", "application/json")]),
            "text/event-stream"
        ));
        assert!(accepts(&headers(&[]), "application/json"));
    }
}
