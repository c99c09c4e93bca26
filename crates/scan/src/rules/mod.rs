//! The rules over text: each module compiles its patterns once and reports [`Hit`]s over one
//! string. [`TextRules`] runs them all; the scanner turns hits into findings with a path and
//! an excerpt.

mod encoded;
mod exfil;
mod instructions;
mod invisible;
mod names;
mod secrecy;
mod sensitive;
mod shadowing;

use std::ops::Range;

use regex::{Regex, RegexBuilder};

use crate::{Rule, Severity};

pub(crate) use encoded::Encoded;
pub(crate) use invisible::invisible;
pub(crate) use names::{Names, confusable};
pub(crate) use shadowing::Shadowing;

/// One rule firing on one string.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) rule: Rule,
    pub(crate) severity: Severity,
    /// Byte range in the text the rule read (the string with invisible characters removed,
    /// or the decoded payload for encoded text).
    pub(crate) at: Range<usize>,
    pub(crate) message: String,
}

impl Hit {
    pub(crate) fn new(
        rule: Rule,
        severity: Severity,
        at: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            severity,
            at,
            message: message.into(),
        }
    }
}

/// The prose rules that need no context: what a string says.
#[derive(Debug)]
pub(crate) struct Prose {
    instructions: instructions::Instructions,
    sensitive: sensitive::Sensitive,
    exfil: exfil::Exfil,
    secrecy: secrecy::Secrecy,
}

impl Prose {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            instructions: instructions::Instructions::new()?,
            sensitive: sensitive::Sensitive::new()?,
            exfil: exfil::Exfil::new()?,
            secrecy: secrecy::Secrecy::new()?,
        })
    }

    /// Every prose hit in `text` (already stripped of invisible characters).
    pub(crate) fn check(&self, text: &str, out: &mut Vec<Hit>) {
        let start = out.len();
        self.instructions.check(text, out);
        self.sensitive.check(text, out);
        self.exfil.check(text, out);
        self.secrecy.check(text, out);
        escalate_secrets_with_exit(&mut out[start..]);
    }
}

/// Reading a secret and sending data out in the same string is the whole attack: the way
/// out becomes critical.
fn escalate_secrets_with_exit(hits: &mut [Hit]) {
    let reads_secret = hits
        .iter()
        .any(|h| h.rule == Rule::SensitiveFile && h.severity >= Severity::High);
    if reads_secret {
        for hit in hits
            .iter_mut()
            .filter(|h| h.rule == Rule::Exfiltration && h.severity >= Severity::High)
        {
            hit.severity = Severity::Critical;
            hit.message.push_str(", together with reading a secret");
        }
    }
}

/// A case-insensitive pattern.
pub(crate) fn pattern(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).case_insensitive(true).build()
}

/// The sentence of `text` around byte `at`: bounded by `.`, `!`, `?` or `;` followed by
/// whitespace, or by a line break.
pub(crate) fn sentence(text: &str, at: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let is_end = |i: usize| {
        let b = bytes[i];
        b == b'\n'
            || (matches!(b, b'.' | b'!' | b'?' | b';')
                && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()))
    };
    let at = at.min(text.len());
    let start = (0..at).rev().find(|&i| is_end(i)).map_or(0, |i| i + 1);
    let end = (at..bytes.len())
        .find(|&i| is_end(i))
        .map_or(bytes.len(), |i| i + 1);
    start..end
}

/// Whether `at` lies inside a backtick code span: documentation quoting a token is not
/// using it.
pub(crate) fn in_code_span(text: &str, at: usize) -> bool {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'`')
        .count()
        % 2
        == 1
        && text[at.min(text.len())..].contains('`')
}

/// Whether the words just before byte `at` negate what follows ("never read", "not sent").
pub(crate) fn negated(text: &str, at: usize) -> bool {
    let from = at.saturating_sub(16);
    let from = (from..=at)
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(at);
    let before = text[from..at].to_ascii_lowercase();
    ["never ", "not ", "n't ", "no ", "without "]
        .iter()
        .any(|w| before.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_stops_not_paths() {
        let text = "Read ~/.ssh/id_rsa now. Then stop";
        assert_eq!(&text[sentence(text, 2)], "Read ~/.ssh/id_rsa now.");
        assert_eq!(&text[sentence(text, 27)], " Then stop");
    }

    #[test]
    fn code_spans_and_negation() {
        let text = "wraps `[INST]` here [INST]";
        assert!(in_code_span(text, 7));
        assert!(!in_code_span(text, 20));
        assert!(negated("keys are never read", 15));
        assert!(!negated("please read", 7));
    }
}
