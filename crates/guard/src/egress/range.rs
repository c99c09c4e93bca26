//! Which addresses are outside the public internet, and why.
//!
//! An address is judged by the first range of the table it falls in; an IPv6 address that
//! carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged by the IPv4 it carries,
//! because that is where a packet to it ends up.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range of addresses moat refuses to let a tool reach, named for metrics and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeniedRange {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918).
    Private,
    /// 169.254.0.0/16, fe80::/10; holds most cloud metadata endpoints.
    LinkLocal,
    /// fc00::/7 (RFC 4193); holds AWS's IPv6 metadata endpoint.
    UniqueLocal,
    /// 100.64.0.0/10, carrier-grade NAT (RFC 6598); holds Alibaba Cloud's metadata endpoint.
    SharedAddressSpace,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 0.0.0.0/8 ("this network"), ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15 (RFC 2544).
    Benchmarking,
    /// Special-purpose or unallocated: 192.0.0.0/24, 192.88.99.0/24, 240.0.0.0/4, and IPv6
    /// outside global unicast 2000::/3, discard-only, IETF protocol and local NAT64 ranges.
    Reserved,
}

impl DeniedRange {
    /// A stable name for metrics and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::UniqueLocal => "unique_local",
            Self::SharedAddressSpace => "shared_address_space",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique-local address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::Multicast => "a multicast address",
            Self::Unspecified => "an unspecified address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// How an IPv6 address carries an IPv4 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// ::ffff:0:0/96.
    Mapped,
    /// ::/96 (deprecated IPv4-compatible).
    Compatible,
    /// 64:ff9b::/96 (RFC 6052 well-known prefix).
    Nat64,
    /// 2002::/16 (RFC 3056).
    SixToFour,
}

impl Embedding {
    fn phrase(self) -> &'static str {
        match self {
            Self::Mapped => "an IPv4-mapped",
            Self::Compatible => "an IPv4-compatible",
            Self::Nat64 => "a NAT64",
            Self::SixToFour => "a 6to4",
        }
    }
}

/// Why one address is refused: its range, a note for a well-known address in it, and the IPv4
/// address it carries when that is what was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// The range.
    pub range: DeniedRange,
    /// What the address is known for (`cloud metadata`), if anything.
    pub note: Option<&'static str>,
    /// The IPv4 address judged in place of an IPv6 one that carries it.
    pub carried: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((embedding, v4)) = self.carried {
            write!(f, "{} IPv6 address for {v4}, ", embedding.phrase())?;
        }
        f.write_str(self.range.phrase())?;
        match self.note {
            Some(note) => write!(f, " ({note})"),
            None => Ok(()),
        }
    }
}

/// (network, prefix length, range), most specific first where they nest.
const V4_TABLE: &[(u32, u8, DeniedRange)] = &[
    (0xffff_ffff, 32, DeniedRange::Broadcast),
    (0x0000_0000, 8, DeniedRange::Unspecified),
    (0x0a00_0000, 8, DeniedRange::Private),
    (0x6440_0000, 10, DeniedRange::SharedAddressSpace),
    (0x7f00_0000, 8, DeniedRange::Loopback),
    (0xa9fe_0000, 16, DeniedRange::LinkLocal),
    (0xac10_0000, 12, DeniedRange::Private),
    (0xc000_0000, 24, DeniedRange::Reserved),
    (0xc000_0200, 24, DeniedRange::Documentation),
    (0xc058_6300, 24, DeniedRange::Reserved),
    (0xc0a8_0000, 16, DeniedRange::Private),
    (0xc612_0000, 15, DeniedRange::Benchmarking),
    (0xc633_6400, 24, DeniedRange::Documentation),
    (0xcb00_7100, 24, DeniedRange::Documentation),
    (0xe000_0000, 4, DeniedRange::Multicast),
    (0xf000_0000, 4, DeniedRange::Reserved),
];

/// IPv6 ranges judged as themselves (the carrying prefixes are handled before this table).
const V6_TABLE: &[(u128, u8, DeniedRange)] = &[
    (0, 128, DeniedRange::Unspecified),
    (1, 128, DeniedRange::Loopback),
    (0x0064_ff9b_0001 << 80, 48, DeniedRange::Reserved),
    (0x0100 << 112, 64, DeniedRange::Reserved),
    (0x2001 << 112, 23, DeniedRange::Reserved),
    (0x2001_0db8 << 96, 32, DeniedRange::Documentation),
    (0x3fff << 112, 20, DeniedRange::Documentation),
    (0xfc00 << 112, 7, DeniedRange::UniqueLocal),
    (0xfe80 << 112, 10, DeniedRange::LinkLocal),
    (0xff00 << 112, 8, DeniedRange::Multicast),
];

/// Why `ip` is refused, or `None` for an address on the public internet.
pub fn classify(ip: IpAddr) -> Option<Denial> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(v4: Ipv4Addr) -> Option<Denial> {
    let bits = u32::from(v4);
    let (_, _, range) = V4_TABLE
        .iter()
        .find(|&&(net, len, _)| prefix_match(u128::from(bits), u128::from(net), len, 32))?;
    Some(Denial {
        range: *range,
        note: note_v4(v4),
        carried: None,
    })
}

fn classify_v6(v6: Ipv6Addr) -> Option<Denial> {
    if let Some((embedding, v4)) = carried_v4(v6) {
        return classify_v4(v4).map(|d| Denial {
            carried: Some((embedding, v4)),
            ..d
        });
    }
    let bits = u128::from(v6);
    let range = V6_TABLE
        .iter()
        .find(|&&(net, len, _)| prefix_match(bits, net, len, 128))
        .map(|&(_, _, range)| range)
        // Only 2000::/3 is allocated for global unicast; the rest has no public host.
        .or_else(|| {
            (!prefix_match(bits, 0x2000 << 112, 3, 128)).then_some(DeniedRange::Reserved)
        })?;
    Some(Denial {
        range,
        note: note_v6(v6),
        carried: None,
    })
}

/// The IPv4 address an IPv6 one carries, for the prefixes that route to it.
fn carried_v4(v6: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let bits = u128::from(v6);
    // The low 32 bits, by construction of the prefixes below.
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if prefix_match(bits, 0xffff << 32, 96, 128) {
        Some((Embedding::Mapped, low))
    } else if prefix_match(bits, 0, 96, 128) && bits > 1 {
        // :: and ::1 are themselves, not 0.0.0.0 and 0.0.0.1.
        Some((Embedding::Compatible, low))
    } else if prefix_match(bits, 0x0064_ff9b << 96, 96, 128) {
        Some((Embedding::Nat64, low))
    } else if prefix_match(bits, 0x2002 << 112, 16, 128) {
        // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD in bits 16..48.
        Some((Embedding::SixToFour, Ipv4Addr::from((bits >> 80) as u32)))
    } else {
        None
    }
}

fn note_v4(v4: Ipv4Addr) -> Option<&'static str> {
    match v4.octets() {
        [169, 254, 169, 254] => Some("cloud metadata"),
        [169, 254, 170, 2] => Some("AWS ECS task metadata"),
        [100, 100, 100, 200] => Some("Alibaba Cloud metadata"),
        _ => None,
    }
}

fn note_v6(v6: Ipv6Addr) -> Option<&'static str> {
    (v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)).then_some("AWS metadata")
}

/// Whether the first `len` of `width` bits of `addr` equal those of `net`.
pub(super) fn prefix_match(addr: u128, net: u128, len: u8, width: u8) -> bool {
    let shift = u32::from(width - len.min(width));
    // A shift by the full width is out of range for the operator; a zero-length prefix
    // matches everything.
    addr.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
}
