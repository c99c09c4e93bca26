//! The MCP 2026-07-28 encoding of values carried in `Mcp-Name` and `Mcp-Param-*` headers: plain
//! when the value is safe as an HTTP header, else `=?base64?<standard base64>?=`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const PREFIX: &str = "=?base64?";
const SUFFIX: &str = "?=";

/// Whether a value must be wrapped: leading or trailing blanks, control or non-ASCII characters, or
/// text that already looks like the wrapper.
fn needs_wrapping(value: &str) -> bool {
    let edge_blank = |c: Option<char>| matches!(c, Some(' ' | '\t'));
    edge_blank(value.chars().next())
        || edge_blank(value.chars().last())
        || value.chars().any(|c| !(' '..='~').contains(&c))
        || (value.starts_with(PREFIX) && value.ends_with(SUFFIX))
}

/// The header form of `value`.
pub fn encode(value: &str) -> String {
    if needs_wrapping(value) {
        format!("{PREFIX}{}{SUFFIX}", STANDARD.encode(value))
    } else {
        value.to_owned()
    }
}

/// The value a header carries; `None` when the wrapper holds invalid base64 or UTF-8.
pub fn decode(header: &str) -> Option<String> {
    match header
        .strip_prefix(PREFIX)
        .and_then(|h| h.strip_suffix(SUFFIX))
    {
        Some(inner) => String::from_utf8(STANDARD.decode(inner).ok()?).ok(),
        None => Some(header.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_plain_and_others_round_trip() {
        assert_eq!(encode("get_weather"), "get_weather");
        assert_eq!(encode("a b"), "a b");
        for v in [
            " lead",
            "trail\t",
            "naïve",
            "line\r\nbreak",
            "=?base64?eA==?=",
        ] {
            let e = encode(v);
            assert!(e.starts_with(PREFIX), "{v:?} -> {e}");
            assert_eq!(decode(&e).as_deref(), Some(v));
        }
        assert_eq!(decode("=?base64?!!?="), None);
        assert_eq!(decode("plain").as_deref(), Some("plain"));
    }
}
