//! Entries of a tool's domain allowlist.

use std::net::IpAddr;
use std::str::FromStr;

use url::Host;

use super::error::EgressRulesError;

/// One allowlist entry: `example.com` (that name only), `*.example.com` (any name below it,
/// not the name itself, as in certificates), or an IP address (that literal in a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// One name, in ASCII (punycode) without a trailing dot.
    Exact(String),
    /// Any name ending in `.` and this suffix.
    Below(String),
    /// One address.
    Address(IpAddr),
}

impl HostPattern {
    /// Whether a name matches: lower case, punycode, without a trailing dot.
    pub fn matches_name(&self, name: &str) -> bool {
        match self {
            Self::Exact(exact) => name == exact,
            Self::Below(suffix) => name
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            Self::Address(_) => false,
        }
    }

    /// Whether an address literal matches.
    pub fn matches_address(&self, ip: IpAddr) -> bool {
        matches!(self, Self::Address(a) if *a == ip)
    }
}

const NO_WILDCARD_ADDRESS: &str = "`*.` before an address matches nothing";

impl FromStr for HostPattern {
    type Err = EgressRulesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| EgressRulesError::Pattern {
            pattern: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if rest.contains('*') {
            return Err(invalid("`*.` is allowed only at the start"));
        }
        // The same host parser URLs go through, so `Bücher.de` and `xn--bcher-kva.de` are one
        // pattern and `0x7f.1` is an address, as it would be in a URL. A bare IPv6 address is
        // taken without its brackets too.
        let host = match rest.parse::<IpAddr>() {
            Ok(ip) => {
                return if wildcard {
                    Err(invalid(NO_WILDCARD_ADDRESS))
                } else {
                    Ok(Self::Address(ip))
                };
            }
            Err(_) => Host::parse(rest).map_err(|e| invalid(&e.to_string()))?,
        };
        match host {
            Host::Domain(name) => {
                let name = normalise_name(&name);
                if name.is_empty() {
                    return Err(invalid("empty name"));
                }
                Ok(if wildcard {
                    Self::Below(name.to_owned())
                } else {
                    Self::Exact(name.to_owned())
                })
            }
            Host::Ipv4(_) | Host::Ipv6(_) if wildcard => Err(invalid(NO_WILDCARD_ADDRESS)),
            Host::Ipv4(v4) => Ok(Self::Address(IpAddr::V4(v4))),
            Host::Ipv6(v6) => Ok(Self::Address(IpAddr::V6(v6))),
        }
    }
}

/// A name as compared: the parser has lowered and punycoded it; the trailing dot of a fully
/// qualified name is dropped here, since `example.com.` and `example.com` resolve alike.
pub(super) fn normalise_name(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}
