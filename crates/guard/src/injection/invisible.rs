//! Invisible characters: which ones hide something, and removing them.
//!
//! Some invisible characters are part of ordinary writing and are left alone:
//! - a zero-width joiner, non-joiner or space, or a word joiner, between two visible non-ASCII
//!   characters: emoji sequences (👨‍👩‍👧 is three emoji joined by U+200D), Indic conjuncts,
//!   Persian half-spaces, Thai and Khmer word breaks;
//! - a BOM (U+FEFF) as the very first character;
//! - bidi embeddings, overrides and isolates in text that has right-to-left letters (Hebrew,
//!   Arabic, Syriac, Thaana, N'Ko …), where editors put them to keep mixed runs in order;
//! - tag characters in a flag sequence: U+1F3F4, then up to seven tag letters or digits, then
//!   the cancel tag (🏴󠁧󠁢󠁳󠁣󠁴󠁿 is Scotland);
//! - the left-to-right, right-to-left and Arabic letter marks (U+200E, U+200F, U+061C), which
//!   only set the direction of neutral characters and appear in correct RTL text everywhere:
//!   they are never flagged.
//!
//! Everything else is flagged: zero-width characters touching ASCII or each other (splitting
//! "ig\u{200B}nore", or binary steganography in runs of them), a BOM later on, bidi controls
//! in text without RTL letters (Trojan Source), and tag characters (ASCII text spelled in an
//! invisible block that models still read).

use std::borrow::Cow;

use super::{DECODE_LIMIT, Span};

/// What a flagged span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A run of tag characters: hidden ASCII.
    Tag,
    /// A run of other invisible characters.
    Other,
}

/// Every flagged span of `text`, in order; consecutive flagged characters of one kind make one
/// span.
pub(super) fn find(text: &str) -> Vec<(Span, Kind)> {
    let bytes = text.as_bytes();
    let mut out: Vec<(Span, Kind)> = Vec::new();
    let mut rtl: Option<bool> = None;
    let mut at = 0;
    // Every candidate is three or four bytes led by one of these: U+2xxx, U+FEFF, U+E00xx.
    while let Some(offset) = bytes[at..]
        .iter()
        .position(|b| matches!(b, 0xE2 | 0xEF | 0xF3))
    {
        let i = at + offset;
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let mut end = i + c.len_utf8();
        let kind = if is_tag(c) {
            end = i + text[i..]
                .char_indices()
                .find(|(_, c)| !is_tag(*c))
                .map_or(text.len() - i, |(j, _)| j);
            (!is_flag(text, i, end)).then_some(Kind::Tag)
        } else if is_zero_width(c) {
            (!between_visible(text, i, end)).then_some(Kind::Other)
        } else if c == '\u{FEFF}' {
            (i > 0).then_some(Kind::Other)
        } else if is_bidi(c) {
            let rtl = *rtl.get_or_insert_with(|| text.chars().any(is_rtl));
            (!rtl).then_some(Kind::Other)
        } else {
            None
        };
        if let Some(kind) = kind {
            match out.last_mut() {
                Some((last, k)) if *k == kind && last.end == i => last.end = end,
                _ => out.push((Span { start: i, end }, kind)),
            }
        }
        at = end;
    }
    out
}

/// The ASCII a tag run spells (U+E0020–U+E007E are the tag forms of space to tilde), at most
/// [`DECODE_LIMIT`] bytes of it.
pub(super) fn decode_tags(run: &str) -> String {
    run.chars()
        .filter_map(|c| {
            let code = u32::from(c).checked_sub(0xE0000)?;
            (0x20..0x7F).contains(&code).then_some(code)
        })
        .take(DECODE_LIMIT)
        .filter_map(char::from_u32)
        .collect()
}

/// `text` without the invisible characters the scanner flags; borrowed when there are none.
/// Legitimate ones stay (see the module notes): an emoji family keeps its joiners.
pub fn strip_invisible(text: &str) -> Cow<'_, str> {
    let flagged = find(text);
    if flagged.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (span, _) in flagged {
        out.push_str(&text[at..span.start]);
        at = span.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}')
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_candidate(c: char) -> bool {
    is_tag(c) || is_zero_width(c) || is_bidi(c) || c == '\u{FEFF}'
}

/// Right-to-left letters: Hebrew to N'Ko and the Arabic extensions, their presentation forms,
/// and the historic RTL scripts of the supplementary planes.
fn is_rtl(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}'
        | '\u{FB1D}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFE}'
        | '\u{10800}'..='\u{10FFF}'
        | '\u{1E800}'..='\u{1EFFF}')
}

/// Whether the character at `start..end` sits between two visible non-ASCII characters.
fn between_visible(text: &str, start: usize, end: usize) -> bool {
    let visible = |c: Option<char>| c.is_some_and(|c| !c.is_ascii() && !is_candidate(c));
    visible(text[..start].chars().next_back()) && visible(text[end..].chars().next())
}

/// Whether the tag run at `start..end` ends a subdivision flag: black flag, 1–7 tag letters or
/// digits, cancel tag.
fn is_flag(text: &str, start: usize, end: usize) -> bool {
    let run: Vec<char> = text[start..end].chars().take(9).collect();
    let Some((&last, body)) = run.split_last() else {
        return false;
    };
    text[..start].ends_with('\u{1F3F4}')
        && last == '\u{E007F}'
        && (1..=7).contains(&body.len())
        && body
            .iter()
            .all(|c| matches!(c, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        find(text).into_iter().map(|(_, k)| k).collect()
    }

    #[test]
    fn legitimate_invisibles_are_left_alone() {
        for text in [
            "family: 👨\u{200D}👩\u{200D}👧 and 🏳\u{FE0F}\u{200D}🌈",
            "\u{FEFF}starts with a BOM",
            "क्\u{200D}ष and می\u{200C}خواهم",
            "ภาษา\u{200B}ไทย",
            "שלום \u{2067}hello\u{2069} עולם",
            "Scotland 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}!",
            "marks \u{200E}and\u{200F}",
            "smart “quotes” and — dashes",
        ] {
            assert_eq!(kinds(text), [], "{text:?}");
            assert!(matches!(strip_invisible(text), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn hiding_invisibles_are_flagged_and_stripped() {
        let cases: [(&str, &str, Kind); 6] = [
            ("ig\u{200B}nore", "ignore", Kind::Other),
            ("a\u{200B}\u{200C}\u{200D}\u{200B}b", "ab", Kind::Other),
            ("text\u{FEFF}more", "textmore", Kind::Other),
            ("if (a \u{202E}) {}", "if (a ) {}", Kind::Other),
            ("x\u{E0068}\u{E0069}y", "xy", Kind::Tag),
            ("🏴\u{E0067}\u{E0062}", "🏴", Kind::Tag),
        ];
        for (text, stripped, kind) in cases {
            assert_eq!(kinds(text), [kind], "{text:?}");
            assert_eq!(strip_invisible(text), stripped);
        }
        let hidden: String = "hi there"
            .chars()
            .map(|c| char::from_u32(0xE0000 + u32::from(c)).expect("tag char"))
            .collect();
        assert_eq!(decode_tags(&hidden), "hi there");
    }
}
