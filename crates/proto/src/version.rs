//! MCP protocol revisions moat speaks.

use std::fmt;
use std::str::FromStr;

/// A protocol revision moat supports, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05: the revision of the legacy HTTP+SSE transport, still spoken by old clients.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP introduced; JSON-RPC batches allowed.
    V2025_03_26,
    /// 2025-06-18: batches removed; `MCP-Protocol-Version` header required after initialize.
    V2025_06_18,
    /// 2025-11-25.
    V2025_11_25,
    /// 2026-07-28: stateless. No `initialize`, no sessions; every request carries its version and
    /// the client's capabilities in `_meta`, and `Mcp-Method`/`Mcp-Name` headers on HTTP.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every supported revision, oldest first.
    pub const ALL: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];
    /// The newest revision with an `initialize` handshake, offered when a client's `initialize`
    /// asks for one moat does not know (or for a stateless one, which has no handshake).
    pub const LATEST: Self = Self::V2025_11_25;
    /// What an HTTP request without `MCP-Protocol-Version` is taken to speak (per spec).
    pub const HTTP_DEFAULT: Self = Self::V2025_03_26;

    /// The revision's date string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether the revision is stateless (no handshake, no session).
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// Whether a POST body may be a JSON-RPC batch.
    pub fn allows_batches(self) -> bool {
        self == Self::V2025_03_26
    }

    /// The revision to answer an `initialize` asking for `requested`: the same if supported,
    /// otherwise the latest (the client then decides whether to continue, per spec).
    pub fn negotiate(requested: &str) -> Self {
        requested
            .parse()
            .ok()
            .filter(|v: &Self| !v.is_stateless())
            .unwrap_or(Self::LATEST)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol version string moat does not support.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error(
    "unsupported MCP protocol version {0:?} (supported: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28)"
)]
pub struct UnsupportedVersion(pub String);

impl FromStr for ProtocolVersion {
    type Err = UnsupportedVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_negotiates() {
        assert_eq!("2025-06-18".parse(), Ok(ProtocolVersion::V2025_06_18));
        assert!("2024-10-07".parse::<ProtocolVersion>().is_err());
        assert_eq!("2024-11-05".parse(), Ok(ProtocolVersion::V2024_11_05));
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::LATEST
        );
        assert_eq!(
            ProtocolVersion::negotiate("2025-03-26"),
            ProtocolVersion::V2025_03_26
        );
        assert!(ProtocolVersion::V2025_03_26.allows_batches());
        assert!(!ProtocolVersion::V2025_11_25.allows_batches());
        assert_eq!(
            ProtocolVersion::negotiate("2026-07-28"),
            ProtocolVersion::LATEST
        );
        assert!(ProtocolVersion::V2026_07_28.is_stateless());
        assert!(!ProtocolVersion::V2025_11_25.is_stateless());
    }
}
