//! An operator's allowed network: a CIDR block a tool may reach although it lies in a denied
//! range.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::error::EgressRulesError;
use super::range::prefix_match;

/// A CIDR block, `10.1.2.0/24` or `fd00::/8`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    len: u8,
}

impl Network {
    /// Whether `ip` is inside the block. An IPv4 block never holds an IPv6 address: the caller
    /// unwraps mapped forms first.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, width) = bits_of(self.addr);
        let (ip, ip_width) = bits_of(ip);
        width == ip_width && prefix_match(ip, net, self.len, width)
    }
}

impl FromStr for Network {
    type Err = EgressRulesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| EgressRulesError::Network {
            network: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (addr, len) = match s.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| invalid("not an IPv4 or IPv6 address"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(len) => len
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= width)
                .ok_or_else(|| invalid("the prefix length is out of range"))?,
            None => width,
        };
        // `10.0.0.1/8` is most likely a typo for a host or for another block: refuse rather
        // than guess which the operator meant.
        let (bits, _) = bits_of(addr);
        let shift = u32::from(width - len);
        let masked = bits
            .checked_shr(shift)
            .and_then(|b| b.checked_shl(shift))
            .unwrap_or(0);
        if masked != bits {
            return Err(invalid("host bits are set below the prefix length"));
        }
        Ok(Self { addr, len })
    }
}

/// An address as an integer, with its width in bits.
fn bits_of(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
