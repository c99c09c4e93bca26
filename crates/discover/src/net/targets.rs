//! What to probe: hosts, addresses and CIDR blocks; port lists.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Error;

/// The default cap on the number of addresses the targets may name.
pub const MAX_ADDRESSES: u64 = 65_536;

/// One host to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An address.
    Ip(IpAddr),
    /// A name, resolved when probed (and sent as the `Host` header).
    Name(String),
}

impl Host {
    /// The host as written in a URL (IPv6 in brackets).
    pub fn url_host(&self) -> String {
        match self {
            Self::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Self::Ip(IpAddr::V4(v4)) => v4.to_string(),
            Self::Name(n) => n.clone(),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

/// Expands targets (`10.0.0.5`, `10.0.0.0/24`, `fd00::/120`, `mcp.internal`) into hosts, in
/// order; fails when they name more than `max` addresses (counted before anything is expanded).
pub fn parse_targets(specs: &[String], max: u64) -> Result<Vec<Host>, Error> {
    let parsed: Vec<Spec> = specs
        .iter()
        .map(|s| Spec::parse(s))
        .collect::<Result<_, _>>()?;
    let count: u128 = parsed.iter().map(Spec::count).sum();
    if count > u128::from(max) {
        return Err(Error::TooManyAddresses { count, max });
    }
    let mut hosts = Vec::new();
    for spec in parsed {
        spec.expand(&mut hosts);
    }
    Ok(hosts)
}

/// One target, read.
enum Spec {
    V4(u32, u8),
    V6(u128, u8),
    Name(String),
}

impl Spec {
    fn parse(spec: &str) -> Result<Self, Error> {
        let bad = |problem: &str| Error::Target {
            target: spec.to_owned(),
            problem: problem.to_owned(),
        };
        let spec_trimmed = spec.trim();
        if let Some((addr, prefix)) = spec_trimmed.split_once('/') {
            let prefix: u8 = prefix
                .parse()
                .map_err(|_| bad("the prefix length is not a number"))?;
            return match addr.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) if prefix <= 32 => Ok(Self::V4(u32::from(v4), prefix)),
                Ok(IpAddr::V6(v6)) if prefix <= 128 => Ok(Self::V6(u128::from(v6), prefix)),
                Ok(_) => Err(bad("the prefix length is too long for the address")),
                Err(_) => Err(bad("a CIDR block needs an IP address before the '/'")),
            };
        }
        let unbracketed = spec_trimmed.trim_start_matches('[').trim_end_matches(']');
        match unbracketed.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => Ok(Self::V4(u32::from(v4), 32)),
            Ok(IpAddr::V6(v6)) => Ok(Self::V6(u128::from(v6), 128)),
            Err(_) if is_host_name(spec_trimmed) => Ok(Self::Name(spec_trimmed.to_owned())),
            Err(_) => Err(bad("not an IP address, a CIDR block or a host name")),
        }
    }

    fn count(&self) -> u128 {
        match self {
            Self::V4(_, prefix) => 1u128 << (32 - prefix),
            // A /0 holds 2^128 addresses, one more than u128 holds: saturate.
            Self::V6(_, 0) => u128::MAX,
            Self::V6(_, prefix) => 1u128 << (128 - prefix),
            Self::Name(_) => 1,
        }
    }

    fn expand(self, out: &mut Vec<Host>) {
        match self {
            Self::V4(addr, prefix) => {
                let mask = u32::MAX.checked_shl(u32::from(32 - prefix)).unwrap_or(0);
                let first = addr & mask;
                let last = first | !mask;
                out.extend((first..=last).map(|a| Host::Ip(IpAddr::V4(Ipv4Addr::from(a)))));
            }
            Self::V6(addr, prefix) => {
                let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
                let first = addr & mask;
                let last = first | !mask;
                out.extend((first..=last).map(|a| Host::Ip(IpAddr::V6(Ipv6Addr::from(a)))));
            }
            Self::Name(n) => out.push(Host::Name(n)),
        }
    }
}

/// An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Reads a port list: `3000,8000-8100` (sorted, without duplicates; port 0 is refused).
pub fn parse_ports(spec: &str) -> Result<Vec<u16>, Error> {
    let bad = |problem: String| Error::Ports {
        spec: spec.to_owned(),
        problem,
    };
    let port = |s: &str| -> Result<u16, Error> {
        match s.trim().parse::<u16>() {
            Ok(0) => Err(bad("port 0 cannot be probed".to_owned())),
            Ok(p) => Ok(p),
            Err(_) => Err(bad(format!("{:?} is not a port (1-65535)", s.trim()))),
        }
    };
    let mut ports = Vec::new();
    for part in spec.split(',') {
        if part.trim().is_empty() {
            return Err(bad("an empty item".to_owned()));
        }
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (port(a)?, port(b)?);
                if a > b {
                    return Err(bad(format!("the range {a}-{b} runs backwards")));
                }
                ports.extend(a..=b);
            }
            None => ports.push(port(part)?),
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn ip(s: &str) -> Host {
        Host::Ip(s.parse().unwrap())
    }

    #[test]
    fn v4_blocks_expand_in_order_from_the_network_address() {
        let hosts = parse_targets(&specs(&["10.0.0.5/30", "127.0.0.1"]), 16).unwrap();
        assert_eq!(
            hosts,
            [
                ip("10.0.0.4"),
                ip("10.0.0.5"),
                ip("10.0.0.6"),
                ip("10.0.0.7"),
                ip("127.0.0.1")
            ]
        );
        assert_eq!(
            parse_targets(&specs(&["192.168.1.9/32"]), 1).unwrap(),
            [ip("192.168.1.9")]
        );
        assert_eq!(
            parse_targets(&specs(&["10.1.2.3/16"]), 65_536)
                .unwrap()
                .len(),
            65_536
        );
    }

    #[test]
    fn v6_blocks_and_bracketed_addresses() {
        let hosts = parse_targets(&specs(&["fd00::1/127", "[::1]"]), 16).unwrap();
        assert_eq!(hosts, [ip("fd00::"), ip("fd00::1"), ip("::1")]);
        assert_eq!(ip("::1").to_string(), "::1");
        assert_eq!(ip("::1").url_host(), "[::1]");
    }

    #[test]
    fn the_address_cap_is_checked_before_expanding() {
        let err = parse_targets(&specs(&["10.0.0.0/8"]), MAX_ADDRESSES).unwrap_err();
        assert!(matches!(
            err,
            Error::TooManyAddresses {
                count: 16_777_216,
                max: 65_536
            }
        ));
        let err = parse_targets(&specs(&["::/0"]), MAX_ADDRESSES).unwrap_err();
        assert!(matches!(err, Error::TooManyAddresses { .. }), "{err}");
        let err = parse_targets(&specs(&["10.0.0.0/17", "10.1.0.0/17", "h"]), MAX_ADDRESSES);
        assert!(err.is_err(), "the sum counts");
    }

    #[test]
    fn names_and_bad_targets() {
        assert_eq!(
            parse_targets(&specs(&["mcp.internal", "localhost"]), 4).unwrap(),
            [
                Host::Name("mcp.internal".into()),
                Host::Name("localhost".into())
            ]
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "host/24",
            "10.0.0.0/x",
            "-bad",
            "a..b",
            "a b",
            "",
        ] {
            assert!(
                matches!(
                    parse_targets(&specs(&[bad]), 100),
                    Err(Error::Target { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn port_lists() {
        assert_eq!(
            parse_ports("3000,8000-8003, 22").unwrap(),
            [22, 3000, 8000, 8001, 8002, 8003]
        );
        assert_eq!(parse_ports("80,80,79-81").unwrap(), [79, 80, 81]);
        assert_eq!(parse_ports("1-65535").unwrap().len(), 65_535);
        for bad in ["", "0", "70000", "10-5", "a", "1,,2", "1-", "-1"] {
            assert!(
                matches!(parse_ports(bad), Err(Error::Ports { .. })),
                "{bad}"
            );
        }
    }
}
