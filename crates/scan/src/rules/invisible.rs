//! MS006: invisible and direction-changing characters, checked on the raw string.
//!
//! Joiners and variation selectors after emoji or in non-Latin text, direction marks in
//! right-to-left text, a leading BOM and emoji flag tag sequences are ordinary and pass.

use std::ops::Range;

use super::Hit;
use crate::unicode::{self, Hidden};
use crate::walk::Slot;
use crate::{Rule, Severity};

/// The most hidden characters found in `text`, as one hit, or none.
pub(crate) fn invisible(text: &str, slot: Slot) -> Option<Hit> {
    let rtl = unicode::has_rtl(text);
    let mut worst: Option<(Hidden, Range<usize>)> = None;
    let mut count = 0usize;
    let mut prev: Option<char> = None;
    let mut in_flag = false;
    for (i, c) in text.char_indices() {
        let kind = hidden_here(c, prev, rtl, i, &mut in_flag);
        if let Some(kind) = kind {
            count += 1;
            if worst.as_ref().is_none_or(|(w, _)| kind > *w) {
                worst = Some((kind, i..i + c.len_utf8()));
            }
        }
        prev = Some(c);
    }
    let (kind, at) = worst?;
    let severity = if slot.is_identifier() || kind == Hidden::Tag {
        Severity::Critical
    } else if kind == Hidden::Bidi {
        Severity::High
    } else {
        Severity::Medium
    };
    let what = match kind {
        Hidden::Tag => {
            let hidden: String = unicode::decode_tags(text).chars().take(60).collect();
            format!("text hidden in Unicode tag characters: \"{hidden}\"")
        }
        Hidden::Bidi => "bidi override or isolate that reorders the displayed text".to_owned(),
        Hidden::Control => "control characters".to_owned(),
        Hidden::ZeroWidth => "zero-width or invisible characters".to_owned(),
    };
    let place = if slot.is_identifier() {
        " in a name"
    } else {
        ""
    };
    Some(Hit::new(
        Rule::InvisibleUnicode,
        severity,
        at,
        format!(
            "{what}{place} ({count} invisible character{})",
            if count == 1 { "" } else { "s" }
        ),
    ))
}

/// The kind of `c` when it hides something here, given the character before it.
fn hidden_here(
    c: char,
    prev: Option<char>,
    rtl: bool,
    at: usize,
    in_flag: &mut bool,
) -> Option<Hidden> {
    if c == '\u{1f3f4}' {
        *in_flag = true;
        return None;
    }
    if !('\u{e0000}'..='\u{e007f}').contains(&c) {
        *in_flag = false;
    }
    if unicode::is_direction_mark(c) {
        return (!rtl).then_some(Hidden::ZeroWidth);
    }
    let kind = unicode::classify(c)?;
    let after_ascii = prev.is_none_or(|p| p.is_ascii());
    let ordinary = match c {
        '\u{e0020}'..='\u{e007f}' if *in_flag => {
            *in_flag = c != '\u{e007f}';
            true
        }
        // Joiners inside emoji sequences and non-Latin words (ZWNJ in Persian, ZWJ in Indic).
        '\u{200c}' | '\u{200d}' => !after_ascii,
        // Emoji and keycap presentation selectors.
        '\u{fe00}'..='\u{fe0f}' => {
            prev.is_some_and(|p| !p.is_ascii() || matches!(p, '0'..='9' | '#' | '*'))
        }
        '\u{feff}' => at == 0,
        _ => false,
    };
    (!ordinary).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(text: &str, slot: Slot) -> Option<Severity> {
        invisible(text, slot).map(|h| h.severity)
    }

    #[test]
    fn fires_on_hidden_characters() {
        assert_eq!(
            severity("read\u{200b}file", Slot::Name),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity("send\u{00ad}email", Slot::Name),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity("invoice_\u{202e}fdp.exe", Slot::Prose),
            Some(Severity::High)
        );
        assert_eq!(
            severity("ok\u{e0041}\u{e0042}", Slot::Prose),
            Some(Severity::Critical)
        );
        assert_eq!(severity("a\u{200b}b", Slot::Prose), Some(Severity::Medium));
        let tags = invisible("ok\u{e0068}\u{e0069}", Slot::Prose).unwrap();
        assert!(tags.message.contains("\"hi\""), "{}", tags.message);
    }

    #[test]
    fn ordinary_uses_pass() {
        assert_eq!(
            severity(
                "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} and \u{2764}\u{fe0f}",
                Slot::Prose
            ),
            None
        );
        assert_eq!(
            severity(
                "\u{05e9}\u{05dc}\u{05d5}\u{05dd} (\u{200f}Tel Aviv\u{200f})",
                Slot::Prose
            ),
            None
        );
        assert_eq!(severity("\u{feff}leading BOM", Slot::Prose), None);
        // England's flag: black flag, tag letters "gbeng", cancel tag.
        let flag = "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}";
        assert_eq!(severity(flag, Slot::Prose), None);
        assert_eq!(severity("plain text\twith tab\n", Slot::Prose), None);
    }
}
