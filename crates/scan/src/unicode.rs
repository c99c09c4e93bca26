//! Hand lists of invisible and bidi characters, a small script classifier (Latin, Cyrillic,
//! Greek, Armenian, fullwidth) and a confusable skeleton: lighter than the Unicode tables, and
//! enough for identifiers and the smuggling tricks seen in the wild.

/// What an invisible character does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Hidden {
    /// Zero-width and filler characters, soft hyphen, stray variation selectors.
    ZeroWidth,
    /// Control characters other than tab and line breaks.
    Control,
    /// Bidi embeddings, overrides and isolates: reorder what is displayed.
    Bidi,
    /// Tag characters (U+E0000 block): invisible ASCII.
    Tag,
}

/// Whether `c` draws nothing (or only reorders what is drawn).
pub(crate) fn is_invisible(c: char) -> bool {
    classify(c).is_some() || is_direction_mark(c)
}

/// LRM, RLM and ALM: ordinary in right-to-left text.
pub(crate) fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// The kind of hiding character `c` is, if any (direction marks aside: see
/// [`is_direction_mark`]).
pub(crate) fn classify(c: char) -> Option<Hidden> {
    match c {
        '\u{e0000}'..='\u{e007f}' => Some(Hidden::Tag),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => Some(Hidden::Bidi),
        '\u{200b}'..='\u{200d}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}'
        | '\u{00ad}'
        | '\u{034f}'
        | '\u{115f}'
        | '\u{1160}'
        | '\u{17b4}'
        | '\u{17b5}'
        | '\u{180e}'
        | '\u{3164}'
        | '\u{ffa0}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{e0100}'..='\u{e01ef}' => Some(Hidden::ZeroWidth),
        '\t' | '\n' | '\r' => None,
        c if c.is_control() => Some(Hidden::Control),
        _ => None,
    }
}

/// Whether `text` has right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko).
pub(crate) fn has_rtl(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{0590}'..='\u{08ff}' | '\u{fb1d}'..='\u{fdff}' | '\u{fe70}'..='\u{fefe}')
    })
}

/// `text` without the characters a reader cannot see, so that words split by them match.
pub(crate) fn strip_invisible(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_invisible) {
        std::borrow::Cow::Owned(text.chars().filter(|&c| !is_invisible(c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The ASCII text carried by tag characters in `text` (U+E0020..U+E007E map to ASCII).
pub(crate) fn decode_tags(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let v = c as u32;
            (0xe0020..=0xe007e)
                .contains(&v)
                .then(|| char::from_u32(v - 0xe0000))
                .flatten()
        })
        .collect()
}

/// A writing system, for the letters that are confused with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    Latin,
    Cyrillic,
    Greek,
    Armenian,
    /// Fullwidth ASCII forms (U+FF01..U+FF5E).
    Fullwidth,
}

/// The script of a letter; `None` for digits, punctuation and scripts not confused with Latin.
pub(crate) fn script(c: char) -> Option<Script> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00c0}'..='\u{024f}' | '\u{1e00}'..='\u{1eff}' => {
            (c != '\u{00d7}' && c != '\u{00f7}').then_some(Script::Latin)
        }
        '\u{0400}'..='\u{052f}' => Some(Script::Cyrillic),
        '\u{0370}'..='\u{03ff}' | '\u{1f00}'..='\u{1fff}' => Some(Script::Greek),
        '\u{0531}'..='\u{058f}' => Some(Script::Armenian),
        '\u{ff21}'..='\u{ff3a}' | '\u{ff41}'..='\u{ff5a}' => Some(Script::Fullwidth),
        _ => None,
    }
}

/// The distinct scripts of the letters in `text`, in order of first appearance.
pub(crate) fn scripts(text: &str) -> Vec<Script> {
    let mut seen = Vec::new();
    for s in text.chars().filter_map(script) {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen
}

/// The Latin letter `c` looks like, when it is a Cyrillic, Greek, Armenian or fullwidth
/// look-alike.
#[rustfmt::skip]
pub(crate) fn latin_lookalike(c: char) -> Option<char> {
    let mapped = match c {
        'а' => 'a', 'в' => 'b', 'е' => 'e', 'о' => 'o', 'р' => 'p', 'с' => 'c', 'у' => 'y',
        'х' => 'x', 'ѕ' => 's', 'і' => 'i', 'ј' => 'j', 'ԁ' => 'd', 'ӏ' => 'l', 'һ' => 'h',
        'ԛ' => 'q', 'ԝ' => 'w', 'ո' => 'n', 'ս' => 'u', 'օ' => 'o',
        'А' => 'A', 'В' => 'B', 'Е' => 'E', 'К' => 'K', 'М' => 'M', 'Н' => 'H', 'О' => 'O',
        'Р' => 'P', 'С' => 'C', 'Т' => 'T', 'Х' => 'X', 'Ѕ' => 'S', 'І' => 'I', 'Ј' => 'J',
        'ο' => 'o', 'α' => 'a', 'ν' => 'v', 'ι' => 'i', 'κ' => 'k', 'ρ' => 'p', 'υ' => 'u',
        'χ' => 'x', 'Α' => 'A', 'Β' => 'B', 'Ε' => 'E', 'Ζ' => 'Z', 'Η' => 'H', 'Ι' => 'I',
        'Κ' => 'K', 'Μ' => 'M', 'Ν' => 'N', 'Ο' => 'O', 'Ρ' => 'P', 'Τ' => 'T', 'Υ' => 'Y',
        'Χ' => 'X', 'ı' => 'i',
        '\u{ff21}'..='\u{ff3a}' | '\u{ff41}'..='\u{ff5a}' => {
            return char::from_u32(c as u32 - 0xff21 + 'A' as u32);
        }
        _ => return None,
    };
    Some(mapped)
}

/// `text` with every look-alike replaced by its Latin letter and invisible characters
/// dropped: two names with the same skeleton look the same.
pub(crate) fn skeleton(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| latin_lookalike(c).unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_classes() {
        assert_eq!(classify('\u{200b}'), Some(Hidden::ZeroWidth));
        assert_eq!(classify('\u{202e}'), Some(Hidden::Bidi));
        assert_eq!(classify('\u{e0041}'), Some(Hidden::Tag));
        assert_eq!(classify('\u{00ad}'), Some(Hidden::ZeroWidth));
        assert_eq!(classify('a'), None);
        assert_eq!(classify('\n'), None);
        assert!(is_invisible('\u{200f}'));
    }

    #[test]
    fn tags_decode_to_ascii() {
        let hidden: String = "hi you"
            .chars()
            .map(|c| char::from_u32(0xe0000 + c as u32).unwrap())
            .collect();
        assert_eq!(decode_tags(&format!("ok{hidden}")), "hi you");
    }

    #[test]
    fn scripts_and_skeleton() {
        assert_eq!(
            scripts("r\u{0435}ad_file"),
            vec![Script::Latin, Script::Cyrillic]
        );
        assert_eq!(scripts("поиск_товаров"), vec![Script::Cyrillic]);
        assert_eq!(skeleton("r\u{0435}ad_file"), "read_file");
        assert_eq!(skeleton("\u{ff52}ead"), "read");
        assert_eq!(scripts("café_au_lait"), vec![Script::Latin]);
    }
}
