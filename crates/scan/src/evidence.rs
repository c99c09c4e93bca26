//! Short, safe excerpts of the text a finding points at.

use std::fmt::Write as _;
use std::ops::Range;

use crate::unicode;

/// The longest evidence string, in characters.
pub(crate) const MAX_EVIDENCE: usize = 120;

/// Characters of context kept before a match.
const LEAD: usize = 24;

/// `text` with control, invisible and bidi characters written as `\u{…}`, so that evidence
/// shows what a person cannot see. Newlines and tabs become `\n` and `\t`.
pub(crate) fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || unicode::is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// An excerpt of `text` around the byte range `at`, at most [`MAX_EVIDENCE`] characters once
/// made visible, with `…` where it was cut.
pub(crate) fn excerpt(text: &str, at: Range<usize>) -> String {
    let start = floor_boundary(text, at.start.min(text.len()));
    let lead_start = text[..start]
        .char_indices()
        .rev()
        .nth(LEAD - 1)
        .map_or(0, |(i, _)| i);
    let mut out = String::new();
    if lead_start > 0 {
        out.push('…');
    }
    let mut cut = false;
    for c in text[lead_start..].chars() {
        let piece = visible(c.encode_utf8(&mut [0; 4]));
        if out.chars().count() + piece.chars().count() > MAX_EVIDENCE - 1 {
            cut = true;
            break;
        }
        out.push_str(&piece);
    }
    if cut {
        out.push('…');
    }
    out
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_made_visible() {
        assert_eq!(visible("a\u{200b}b\n"), "a\\u{200b}b\\n");
        assert_eq!(visible("\u{e0041}"), "\\u{e0041}");
    }

    #[test]
    fn excerpt_is_bounded_and_centred() {
        let text = format!("{}needle{}", "x".repeat(500), "y".repeat(500));
        let at = 500..506;
        let e = excerpt(&text, at);
        assert!(e.chars().count() <= MAX_EVIDENCE, "{}", e.chars().count());
        assert!(e.contains("needle") && e.starts_with('…') && e.ends_with('…'));
        assert_eq!(excerpt("short", 0..5), "short");
    }
}
