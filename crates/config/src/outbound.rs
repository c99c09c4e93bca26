//! Where moat itself may connect: every URL it is configured to reach (upstreams, JWKS,
//! introspection, token endpoints, guardrails) is `https://`, or plain `http://` only to a
//! loopback host, which never leaves the machine.

/// Whether `url` is `https://`, or `http://` to 127.0.0.0/8, `::1` or `localhost`. Parsed as a
/// URL, so `http://127.0.0.1.evil.example/` or `http://localhost@evil.example/` are not loopback.
pub(crate) fn https_or_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => true,
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// The error text for a URL that is neither.
pub(crate) const HTTPS_OR_LOOPBACK: &str =
    "must be https:// (plain http:// only to a loopback host)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_passes() {
        for ok in [
            "https://idp.example/token",
            "http://127.0.0.1:8080/mcp",
            "http://127.9.9.9/",
            "http://[::1]:9/x",
            "http://localhost/jwks",
            "HTTP://LOCALHOST/",
        ] {
            assert!(https_or_loopback(ok), "{ok}");
        }
        for bad in [
            "http://idp.example/token",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(!https_or_loopback(bad), "{bad}");
        }
    }
}
