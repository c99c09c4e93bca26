//! Egress checks, table-driven: every spelling of a denied destination the parser folds, each
//! refused with the kind and range expected; hard negatives that must pass.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

fn rules(domains: &[&str], networks: &[&str]) -> EgressRules {
    EgressRules::new(&EgressSettings {
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        allowed_networks: networks.iter().map(|n| (*n).to_owned()).collect(),
        ..EgressSettings::default()
    })
    .unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// (URL, the address it is, the range it is refused for).
const DISGUISED: &[(&str, &str, DeniedRange)] = &[
    ("http://127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://2130706433/", "127.0.0.1", DeniedRange::Loopback),
    ("http://0177.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://00000177.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://0x7f.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://0x7f000001/", "127.0.0.1", DeniedRange::Loopback),
    (
        "http://0x7f.0x0.0x0.0x1/",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    ("http://127.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://127.0.0.1./", "127.0.0.1", DeniedRange::Loopback),
    (
        "http://127.0.0.1:8080/admin",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://%31%32%37.0.0.1/",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://１２７.０.０.１/",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    ("http://127。0。0。1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://①②⑦.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("HTTP://127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("hTtPs://127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("  http://127.0.0.1/  ", "127.0.0.1", DeniedRange::Loopback),
    ("http://127.0.\t0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("ht\ntp://127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http://127.0.0.1\r\n/", "127.0.0.1", DeniedRange::Loopback),
    ("http:\\\\127.0.0.1\\x", "127.0.0.1", DeniedRange::Loopback),
    ("http:/127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    ("http:127.0.0.1/", "127.0.0.1", DeniedRange::Loopback),
    // What follows `#` or `\` is not the host, whatever an `@` in it suggests.
    (
        "http://127.0.0.1#@allowed.com",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://127.0.0.1\\@allowed.com/",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://127.0.0.1?@allowed.com/",
        "127.0.0.1",
        DeniedRange::Loopback,
    ),
    ("http://[::1]/", "::1", DeniedRange::Loopback),
    ("http://[0:0:0:0:0:0:0:1]/", "::1", DeniedRange::Loopback),
    (
        "http://[::ffff:127.0.0.1]/",
        "::ffff:127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://[::ffff:7f00:1]/",
        "::ffff:127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://[::127.0.0.1]/",
        "::127.0.0.1",
        DeniedRange::Loopback,
    ),
    (
        "http://[64:ff9b::7f00:1]/",
        "64:ff9b::7f00:1",
        DeniedRange::Loopback,
    ),
    (
        "http://[2002:7f00:1::]/",
        "2002:7f00:1::",
        DeniedRange::Loopback,
    ),
    ("http://0/", "0.0.0.0", DeniedRange::Unspecified),
    ("http://0.0.0.0:8000/", "0.0.0.0", DeniedRange::Unspecified),
    ("http://[::]/", "::", DeniedRange::Unspecified),
    ("http://10.0.0.1/", "10.0.0.1", DeniedRange::Private),
    ("http://012.1/", "10.0.0.1", DeniedRange::Private),
    ("http://172.16.0.1/", "172.16.0.1", DeniedRange::Private),
    (
        "http://172.31.255.255/",
        "172.31.255.255",
        DeniedRange::Private,
    ),
    ("http://192.168.1.1/", "192.168.1.1", DeniedRange::Private),
    ("http://3232235777/", "192.168.1.1", DeniedRange::Private),
    (
        "http://[::ffff:c0a8:101]/",
        "::ffff:192.168.1.1",
        DeniedRange::Private,
    ),
    (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254",
        DeniedRange::LinkLocal,
    ),
    (
        "http://0xa9fea9fe/",
        "169.254.169.254",
        DeniedRange::LinkLocal,
    ),
    (
        "http://[::ffff:a9fe:a9fe]/",
        "::ffff:169.254.169.254",
        DeniedRange::LinkLocal,
    ),
    (
        "http://[64:ff9b::a9fe:a9fe]/",
        "64:ff9b::a9fe:a9fe",
        DeniedRange::LinkLocal,
    ),
    ("http://[fe80::1]/", "fe80::1", DeniedRange::LinkLocal),
    (
        "http://[fd00:ec2::254]/",
        "fd00:ec2::254",
        DeniedRange::UniqueLocal,
    ),
    ("http://[fc00::1]/", "fc00::1", DeniedRange::UniqueLocal),
    (
        "http://100.64.0.1/",
        "100.64.0.1",
        DeniedRange::SharedAddressSpace,
    ),
    (
        "http://100.100.100.200/",
        "100.100.100.200",
        DeniedRange::SharedAddressSpace,
    ),
    ("http://224.0.0.1/", "224.0.0.1", DeniedRange::Multicast),
    ("http://[ff02::1]/", "ff02::1", DeniedRange::Multicast),
    (
        "http://255.255.255.255/",
        "255.255.255.255",
        DeniedRange::Broadcast,
    ),
    ("http://192.0.0.1/", "192.0.0.1", DeniedRange::Reserved),
    ("http://192.0.2.1/", "192.0.2.1", DeniedRange::Documentation),
    (
        "http://198.51.100.7/",
        "198.51.100.7",
        DeniedRange::Documentation,
    ),
    (
        "http://203.0.113.9/",
        "203.0.113.9",
        DeniedRange::Documentation,
    ),
    (
        "http://[2001:db8::1]/",
        "2001:db8::1",
        DeniedRange::Documentation,
    ),
    (
        "http://198.18.0.1/",
        "198.18.0.1",
        DeniedRange::Benchmarking,
    ),
    (
        "http://198.19.255.255/",
        "198.19.255.255",
        DeniedRange::Benchmarking,
    ),
    ("http://240.0.0.1/", "240.0.0.1", DeniedRange::Reserved),
    ("http://[2001::1]/", "2001::1", DeniedRange::Reserved),
    ("http://[100::1]/", "100::1", DeniedRange::Reserved),
    ("http://[4000::1]/", "4000::1", DeniedRange::Reserved),
];

#[test]
fn every_spelling_of_a_denied_address_is_refused_as_that_address() {
    let rules = rules(&[], &[]);
    for &(url, addr, range) in DISGUISED {
        match rules.check_url(url) {
            Err(EgressViolation::DeniedLiteral {
                addr: got, denial, ..
            }) => {
                assert_eq!(got, ip(addr), "{url:?}");
                assert_eq!(denial.range, range, "{url:?}");
            }
            other => panic!("{url:?} must be refused as {addr}, got {other:?}"),
        }
    }
}

#[test]
fn public_destinations_pass() {
    let rules = rules(&[], &[]);
    for (url, want) in [
        ("http://8.8.8.8/", Target::Address(ip("8.8.8.8"))),
        ("https://1.1.1.1:8443/x", Target::Address(ip("1.1.1.1"))),
        ("http://134744072/", Target::Address(ip("8.8.8.8"))),
        (
            "https://[2606:4700::1111]/",
            Target::Address(ip("2606:4700::1111")),
        ),
        (
            "http://[::ffff:8.8.8.8]/",
            Target::Address(ip("::ffff:8.8.8.8")),
        ),
        (
            "http://[64:ff9b::808:808]/",
            Target::Address(ip("64:ff9b::808:808")),
        ),
        (
            "http://[2002:808:808::1]/",
            Target::Address(ip("2002:808:808::1")),
        ),
        // Next to denied blocks, outside them.
        ("http://172.32.0.1/", Target::Address(ip("172.32.0.1"))),
        ("http://100.128.0.1/", Target::Address(ip("100.128.0.1"))),
        ("http://198.20.0.1/", Target::Address(ip("198.20.0.1"))),
        (
            "http://169.253.255.255/",
            Target::Address(ip("169.253.255.255")),
        ),
        (
            "https://Example.COM./a?b#c",
            Target::Name("example.com".into()),
        ),
        (
            "https://bücher.de/",
            Target::Name("xn--bcher-kva.de".into()),
        ),
        (
            "https://api.example.com/@127.0.0.1",
            Target::Name("api.example.com".into()),
        ),
        (
            "https://api.example.com?u=http://127.0.0.1/",
            Target::Name("api.example.com".into()),
        ),
        (
            "https://localhost.example.com/",
            Target::Name("localhost.example.com".into()),
        ),
        (
            "https://127.0.0.1.nip.io/",
            Target::Name("127.0.0.1.nip.io".into()),
        ),
    ] {
        let dest = rules
            .check_url(url)
            .unwrap_or_else(|e| panic!("{url:?} must pass: {e}"));
        assert_eq!(dest.target(), &want, "{url:?}");
    }
}

#[test]
fn refusals_other_than_addresses_have_their_kind() {
    let rules = rules(&["example.com", "*.allowed.org"], &[]);
    for (url, kind) in [
        ("http://allowed.com@127.0.0.1/", ViolationKind::Credentials),
        ("https://user:pw@example.com/", ViolationKind::Credentials),
        ("https://:pw@example.com/", ViolationKind::Credentials),
        (
            "https://127.0.0.1:80@example.com/",
            ViolationKind::Credentials,
        ),
        ("http://localhost/", ViolationKind::LocalName),
        ("http://LOCALHOST./", ViolationKind::LocalName),
        (
            "http://%6c%6f%63%61%6c%68%6f%73%74/",
            ViolationKind::LocalName,
        ),
        ("http://api.localhost:3000/", ViolationKind::LocalName),
        ("file:///etc/passwd", ViolationKind::Scheme),
        ("gopher://127.0.0.1:70/_", ViolationKind::Scheme),
        ("ftp://example.com/", ViolationKind::Scheme),
        ("javascript://%0aalert(1)", ViolationKind::Scheme),
        ("mailto:a@example.com", ViolationKind::Scheme),
        ("//example.com/", ViolationKind::Unparsable),
        ("example.com/path", ViolationKind::Unparsable),
        ("http://[fe80::1%25eth0]/", ViolationKind::Unparsable),
        ("http://4294967296/", ViolationKind::Unparsable),
        ("http://1.2.3.4.5/", ViolationKind::Unparsable),
        ("http://example.com:0x50/", ViolationKind::Unparsable),
        ("http://a b/", ViolationKind::Unparsable),
        ("https://example.org/", ViolationKind::NotAllowlisted),
        ("https://evilexample.com/", ViolationKind::NotAllowlisted),
        (
            "https://example.com.evil.net/",
            ViolationKind::NotAllowlisted,
        ),
        ("https://allowed.org/", ViolationKind::NotAllowlisted),
        ("https://8.8.8.8/", ViolationKind::NotAllowlisted),
    ] {
        let got = rules.check_url(url).map(|d| d.url().to_owned());
        assert_eq!(got.map_err(|e| e.kind()), Err(kind), "{url:?}");
    }
}

#[test]
fn the_allowlist_admits_its_names_and_nothing_denied() {
    let rules = rules(
        &["example.com", "*.allowed.org", "Bücher.de", "8.8.4.4"],
        &[],
    );
    for url in [
        "https://example.com/",
        "https://EXAMPLE.com.:443/",
        "https://api.allowed.org/",
        "https://a.b.allowed.org/x",
        "https://xn--bcher-kva.de/",
        "http://8.8.4.4/",
    ] {
        assert!(rules.check_url(url).is_ok(), "{url:?} is on the allowlist");
    }
    // An address on the allowlist is still judged by its range.
    let local = self::rules(&["127.0.0.1"], &[]);
    let refused = local.check_url("http://127.0.0.1/").unwrap_err();
    assert_eq!(refused.range(), Some(DeniedRange::Loopback));
}

#[test]
fn allowed_networks_override_denied_ranges_and_no_more() {
    let rules = rules(&[], &["10.1.2.0/24", "fd00:ec2::/32", "127.0.0.1"]);
    for url in [
        "http://10.1.2.3/",
        "http://[::ffff:10.1.2.3]/",
        "http://[fd00:ec2::1]/",
        "http://127.0.0.1/",
    ] {
        assert!(
            rules.check_url(url).is_ok(),
            "{url:?} is in an allowed network"
        );
    }
    for url in [
        "http://10.1.3.1/",
        "http://127.0.0.2/",
        "http://[fd00:ec3::1]/",
    ] {
        assert_eq!(
            rules.check_url(url).unwrap_err().kind(),
            ViolationKind::DeniedAddress,
            "{url:?}"
        );
    }
}

#[test]
fn one_denied_answer_fails_the_whole_name() {
    let rules = rules(&[], &[]);
    let dest = rules.check_url("https://rebind.example/").unwrap();
    assert_eq!(dest.name(), Some("rebind.example"));
    assert_eq!(dest.port(), Some(443));
    assert!(
        rules
            .check_addrs(&dest, &[ip("93.184.215.14"), ip("2606:4700::1111")])
            .is_ok()
    );
    let mixed = [ip("93.184.215.14"), ip("169.254.169.254"), ip("10.0.0.1")];
    let err = rules.check_addrs(&dest, &mixed).unwrap_err();
    assert_eq!(
        err,
        EgressViolation::DeniedResolved {
            url: "https://rebind.example/".into(),
            addr: ip("169.254.169.254"),
            denial: classify(ip("169.254.169.254")).unwrap(),
        }
    );
    assert_eq!(
        rules.check_addrs(&dest, &[]).unwrap_err().kind(),
        ViolationKind::Unresolved
    );
    let mapped = rules
        .check_addrs(&dest, &[ip("::ffff:127.0.0.1")])
        .unwrap_err();
    assert_eq!(mapped.range(), Some(DeniedRange::Loopback));
}

#[test]
fn messages_name_the_url_the_address_and_the_reason() {
    let rules = rules(&["example.com"], &[]);
    let dest = rules.check_url("http://example.com/").unwrap();
    let cases = [
        (
            rules.check_addrs(&dest, &[ip("169.254.169.254")]),
            "http://example.com/ resolves to 169.254.169.254, a link-local address (cloud metadata)",
        ),
        (
            self::rules(&[], &[])
                .check_url("http://169.254.169.254/")
                .map(|_| ()),
            "http://169.254.169.254/ points to 169.254.169.254, a link-local address (cloud metadata)",
        ),
        (
            self::rules(&[], &[])
                .check_url("http://[::ffff:a9fe:a9fe]/")
                .map(|_| ()),
            "http://[::ffff:a9fe:a9fe]/ points to ::ffff:169.254.169.254, an IPv4-mapped IPv6 \
             address for 169.254.169.254, a link-local address (cloud metadata)",
        ),
        (
            self::rules(&[], &[])
                .check_url("http://[fd00:ec2::254]/")
                .map(|_| ()),
            "http://[fd00:ec2::254]/ points to fd00:ec2::254, a unique-local address (AWS metadata)",
        ),
        (
            rules
                .check_url("https://admin:hunter2@example.com/")
                .map(|_| ()),
            "https://example.com/ carries credentials before its host, which are not allowed in a URL",
        ),
        (
            rules.check_url("gopher://example.com/").map(|_| ()),
            "gopher://example.com/ uses the scheme \"gopher\", which is not allowed (allowed: http, https)",
        ),
        (
            rules.check_url("http://evil.net/").map(|_| ()),
            "http://evil.net/ names evil.net, which is not on this tool's domain allowlist",
        ),
        (
            rules.check_url("not a url\n").map(|_| ()),
            "\"not a url\\n\" is not an absolute URL: relative URL without a base",
        ),
    ];
    for (result, message) in cases {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
    let long = format!("http://example.com/{}", "a".repeat(10_000));
    let shown = rules
        .check_addrs(&rules.check_url(&long).unwrap(), &[])
        .unwrap_err();
    assert!(shown.to_string().len() < SHOWN_CHARS + 64, "{shown}");
}

#[test]
fn an_allowed_opaque_scheme_gets_the_same_host_checks() {
    let rules = EgressRules::new(&EgressSettings {
        schemes: vec!["GOPHER".into()],
        ..EgressSettings::default()
    })
    .unwrap();
    let refused = rules.check_url("gopher://2130706433:70/_").unwrap_err();
    assert_eq!(refused.range(), Some(DeniedRange::Loopback));
    let dest = rules.check_url("gopher://Example.com:70/").unwrap();
    assert_eq!(dest.name(), Some("example.com"));
}

#[test]
fn classification_covers_each_range_and_carried_addresses() {
    let carried = classify(ip("2002:c0a8:0101::1")).unwrap();
    assert_eq!(
        carried.carried,
        Some((Embedding::SixToFour, Ipv4Addr::new(192, 168, 1, 1)))
    );
    assert_eq!(carried.range, DeniedRange::Private);
    for public in [
        IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        IpAddr::V4(Ipv4Addr::new(223, 255, 255, 255)),
        IpAddr::V6(Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, 0, 0x200e)),
    ] {
        assert_eq!(classify(public), None, "{public}");
    }
    assert_eq!(
        classify(ip("239.255.255.250")).map(|d| d.range),
        Some(DeniedRange::Multicast)
    );
    assert_eq!(
        classify(ip("64:ff9b:1::a00:1")).map(|d| d.range),
        Some(DeniedRange::Reserved)
    );
}

#[test]
fn settings_that_are_not_rules_are_refused() {
    let bad = |schemes: &[&str], domains: &[&str], networks: &[&str]| {
        EgressRules::new(&EgressSettings {
            schemes: schemes.iter().map(|s| (*s).to_owned()).collect(),
            domains: domains.iter().map(|s| (*s).to_owned()).collect(),
            allowed_networks: networks.iter().map(|s| (*s).to_owned()).collect(),
        })
        .is_err()
    };
    assert!(bad(&["ht tp"], &[], &[]));
    assert!(bad(&["1http"], &[], &[]));
    assert!(bad(&["http"], &["*.*.example.com"], &[]));
    assert!(bad(&["http"], &["exa*mple.com"], &[]));
    assert!(bad(&["http"], &["*.10.0.0.1"], &[]));
    assert!(bad(&["http"], &["a b.com"], &[]));
    assert!(bad(&["http"], &[], &["10.0.0.1/8"]));
    assert!(bad(&["http"], &[], &["10.0.0.0/33"]));
    assert!(bad(&["http"], &[], &["fd00::/129"]));
    assert!(bad(&["http"], &[], &["internal.corp"]));
    assert!(!bad(
        &["http", "wss"],
        &["*.example.com", "::1", "[::2]"],
        &["0.0.0.0/0", "::/0"]
    ));
}
