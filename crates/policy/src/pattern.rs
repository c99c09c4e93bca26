//! `server/name` patterns where `*` matches any run of characters (none included).
//!
//! Written here rather than taken from a glob crate: grants need only `*`, and path-glob crates
//! give `/` and `[` meanings that tool names and URIs must not have.

/// Whether a `server/tool` pattern (each side with `*`) matches a tool of a server. The sides
/// are matched apart, so a `*` never reaches across the `/`.
pub fn matches_tool(pattern: &str, server: &str, tool: &str) -> bool {
    pattern
        .split_once('/')
        .is_some_and(|(s, t)| matches(s, server) && matches(t, tool))
}

/// Whether `text` matches `pattern`. Allocation-free: list filtering asks this for every role
/// pattern of every entry.
pub fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, tail)) = pattern.split_once('*') else {
        // No `*`: an exact match.
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    // `tail` is "middle*middle*…*last": the middles are found in order, the last ends the text.
    let (middles, last) = match tail.rsplit_once('*') {
        Some((middles, last)) => (Some(middles), last),
        None => (None, tail),
    };
    for part in middles.into_iter().flat_map(|m| m.split('*')) {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_match_any_run_and_nothing_else_is_special() {
        assert!(matches("crm/lookup_*", "crm/lookup_order"));
        assert!(matches("crm/*", "crm/"));
        assert!(matches("*", "anything/at all"));
        assert!(matches("*/get_*", "time/get_current_time"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(matches("crm/refund", "crm/refund"));
        assert!(!matches("crm/refund", "crm/refunds"));
        assert!(!matches("crm/*", "crmx/refund"));
        assert!(!matches("a*bc", "abc_"));
        assert!(!matches("ab*ba", "aba"));
        assert!(!matches("docs/file:///[ab]", "docs/file:///a"));
    }
}
