//! `application/x-www-form-urlencoded` parameters as OAuth reads them: each at most once
//! (RFC 6749 §3.1, §3.2), empty values treated as absent.

use std::collections::HashMap;

use crate::error::{ErrorCode, OAuthError};

/// Request parameters by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Decodes a query string or form body. A repeated parameter is an error.
    pub fn parse(encoded: &str) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for pair in encoded.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name)?, decode(value)?);
            if value.is_empty() {
                continue;
            }
            if map.insert(name.clone(), value).is_some() {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    format!("parameter {name} is repeated"),
                ));
            }
        }
        Ok(Self(map))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidRequest, format!("{name} is required"))
        })
    }

    /// The `scope` parameter as a list, if present.
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.get("scope").map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

fn decode(text: &str) -> Result<String, OAuthError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        OAuthError::new(ErrorCode::InvalidRequest, "malformed percent-encoding")
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidRequest, "parameters must be UTF-8"))
}

/// Percent-encodes `text` for a query string: everything but RFC 3986 unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with `params` appended to its query (RFC 6749 §4.1.2: the redirect URI's own query
/// is kept).
pub fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(sep);
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value));
        sep = '&';
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_repeats() {
        let p = Params::parse("a=1&b=x%20y+z&c=&scope=s1%20s2").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y z"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.scopes().unwrap(), ["s1", "s2"]);
        assert!(Params::parse("a=1&a=2").is_err());
        assert!(Params::parse("a=%zz").is_err());
        assert!(Params::parse("a=%").is_err());
    }

    #[test]
    fn appends_to_an_existing_query() {
        assert_eq!(
            with_query(
                "https://c.example/cb?x=1",
                &[("code", "a b"), ("state", "s&t")]
            ),
            "https://c.example/cb?x=1&code=a%20b&state=s%26t"
        );
        assert_eq!(
            with_query("http://127.0.0.1:9/cb", &[("code", "c")]),
            "http://127.0.0.1:9/cb?code=c"
        );
        let round = Params::parse(&encode("ä/?&=+ x")).map(|_| ()).is_ok();
        assert!(round);
        assert_eq!(
            Params::parse(&format!("v={}", encode("ä/?&=+ x")))
                .unwrap()
                .get("v"),
            Some("ä/?&=+ x")
        );
    }
}
