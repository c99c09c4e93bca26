//! The phrase, marker, link and encoded-run patterns, compiled into one automaton.
//!
//! Patterns are written as templates: a space stands for a gap of 1 to 16 whitespace or
//! zero-width characters, `~` for an optional such gap (so `ignore   all\tprevious` and
//! `ignore\u{200B}all previous` match like `ignore all previous`). Everything else is regex
//! syntax, ASCII case-insensitive. Every repetition is bounded (encoded runs are found by a byte
//! loop in `encoded.rs`): a search reads a bounded number of bytes past its match, which keeps
//! the left-to-right iteration linear (an unbounded repetition in a losing alternative would let
//! every search re-read the same tail).

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

/// What a pattern's match is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    /// A known harmless shape that would otherwise match a marker (`<system>GitHub</system>` in
    /// a Maven POM): matched first, so the marker pattern never sees it.
    Benign,
    /// Override phrasing, to be checked for being said rather than quoted.
    Override,
    /// A template token or fake conversation tag.
    RoleMarker,
    /// A role-shaped line or element.
    RoleHint,
    /// The start of an image or link up to `//`; the URL is read by code.
    Link,
}

/// A gap between words: whitespace (Unicode's, written out: no-break and ideographic spaces
/// count; the crate is built without Unicode tables) or zero-width characters an attacker slips
/// in. Inside templates a literal space in a class is written `\x20`.
const GAP: &str = r"(?u-i:[\t-\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200D}\x{2028}\x{2029}\x{202F}\x{205F}\x{2060}\x{3000}\x{FEFF}]){1,16}";

/// (signal, template), in priority order: where two match at the same place, the first wins.
const PATTERNS: &[(Signal, &str)] = &[
    (Signal::Benign, r"<system>(?u-i:[^<\n]){0,64}</system>"),
    // "ignore all previous instructions", "disregard the above prompt", "forget prior rules".
    (
        Signal::Override,
        r"\b(?:ignore|disregard|forget|bypass) (?:(?:all|any|the|your|my|of|these|those|every|each|and) ){0,3}(?:previous|prior|above|earlier|preceding|foregoing|former|initial|system|developer) (?:[a-z]{1,12} )?(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|guardrails|constraints|restrictions|programming)\b",
    ),
    // "ignore your instructions", "disregard all of the guidelines", "forget your system prompt".
    (
        Signal::Override,
        r"\b(?:ignore|disregard|forget|bypass) (?:all (?:of )?(?:(?:the|your|my) )?|your |my )(?:instructions|guidelines|guardrails|restrictions|programming|system~prompt)\b",
    ),
    // "forget everything above", "forget all you were told".
    (
        Signal::Override,
        r"\bforget (?:everything|all) (?:above|before|so far|previously|prior|you (?:were|have been|'ve been|’ve been) (?:told|given|taught)|i (?:said|told you))\b",
    ),
    // "you are now DAN", "you are now an unrestricted AI", "you are now in developer mode".
    (
        Signal::Override,
        r"\byou are now (?:no longer|(?:a|an|my|the) (?:(?:new|different|unrestricted|unfiltered|uncensored|evil|rogue) )?(?:ai|assistant|chatbot|bot|model|agent|llm|persona|character|hacker)|dan|in (?:developer|god|jailbreak|jailbroken|debug|admin|unrestricted|dan) mode|free (?:of|from)|unrestricted|jailbroken|unfiltered|uncensored|acting as|going to act|to act as|operating (?:as|in|under))\b",
    ),
    // "From now on, you will act as …", "from now on you are no longer …".
    (
        Signal::Override,
        r"\bfrom now on,?~you (?:(?:will|must|shall|should) )?(?:act as|be an?|respond only|answer only|ignore|obey|follow my|only (?:respond|answer|follow|obey)|are (?:an?|no longer|free|unrestricted|dan))\b",
    ),
    // "New instructions:", "Real system prompt:".
    (
        Signal::Override,
        r"\b(?:new|real|actual|true|secret|hidden) (?:system )?(?:instructions?|prompt|directives?)~:",
    ),
    // "do not tell the user about this", "without informing the user.", "never mention it to
    // the user": secrecy towards the user, which no legitimate content asks of an agent. The
    // tail keeps out "do not tell the user whether the password was wrong".
    (
        Signal::Override,
        r"\b(?:do not|don't|don’t|dont|never|without) (?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|(?:mention(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)) (?:this|it|that|these instructions|anything) to) the (?:user|human)(?: (?:about|that you|what you|anything)\b|~[.,;!]|(?m:$))",
    ),
    // "reveal your system prompt", "print the hidden instructions", "what is your system prompt".
    (
        Signal::Override,
        r"\b(?:reveal|print|show|output|repeat|leak|disclose|display|dump|expose|share|tell me|give me|send me|write out) (?:(?:me|us|all|of|the|your|full|entire|complete|exact|verbatim) ){0,4}(?:system~(?:prompt|instructions|message)|(?:hidden|secret|initial|developer|original) (?:prompt|instructions))s?\b",
    ),
    (
        Signal::Override,
        r"\bwhat (?:is|are|were) your (?:system~prompt|(?:initial |original |hidden )?instructions)\b",
    ),
    // Chat-template special tokens: `<|im_start|>`, `<|system|>`, `<|eot_id|>`, Llama's
    // `[INST]` and `<<SYS>>`, Gemma's turns.
    (Signal::RoleMarker, r"<\|[a-z_]{2,32}\|>"),
    (
        Signal::RoleMarker,
        r"\[/?inst\]|<</?sys>>|</?(?:start|end)_of_turn>",
    ),
    // Tags that close the tool result or open a system turn.
    (
        Signal::RoleMarker,
        r"</?(?:system[_-]prompt|tool[_-]results?|function[_-]results?|tool[_-]response|tool[_-]output|function[_-]calls?)(?: (?u-i:[^<>\n]){0,40})?>",
    ),
    // A `<system>` element: a fake system turn, or XML data (short ones are taken by the
    // benign pattern above).
    (Signal::RoleHint, r"</?system(?: (?u-i:[^<>\n]){0,40})?>"),
    // A role name opening a line: `System:`, `**Assistant:**`, `> Human:`.
    (
        Signal::RoleHint,
        r"(?m:^)[\x20\t>*#_]{0,8}(?:system|assistant|human|user|ai)(?:\*\*|__)?~:",
    ),
    (
        Signal::RoleHint,
        r"(?m:^)[\x20\t]{0,8}###~(?:system|instruction|response|assistant|user|human)~(?::|(?m:$))",
    ),
    (Signal::RoleHint, r"\[(?:system|admin|instructions?)\]"),
    // Images and links up to their `//` (the URL is read by code, bounded): inline markdown,
    // reference definitions, HTML `<img>`.
    (
        Signal::Link,
        r"!\[(?u-i:[^\]\n]){0,200}\]\([\x20\t]{0,4}<?(?:https?:)?//",
    ),
    (
        Signal::Link,
        r#"<img\b(?u-i:[^<>]){0,300}?\bsrc[\x20\t]{0,4}=[\x20\t]{0,4}["']?(?:https?:)?//"#,
    ),
    (
        Signal::Link,
        r"\[(?u-i:[^\]\n]){0,200}\]\([\x20\t]{0,4}<?(?:https?:)?//",
    ),
    (
        Signal::Link,
        r"(?m:^)\x20{0,3}\[(?u-i:[^\]\n]){1,200}\]:[\x20\t]{0,4}<?(?:https?:)?//",
    ),
];

/// The automaton and, per pattern id, its signal.
pub(super) fn build() -> Result<(Regex, Vec<Signal>), String> {
    let sources: Vec<String> = PATTERNS.iter().map(|(_, t)| expand(t)).collect();
    let regex = Regex::builder()
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(true)
                .case_insensitive(true),
        )
        .configure(meta::Config::new().nfa_size_limit(Some(SIZE_LIMIT)))
        .build_many(&sources)
        .map_err(|e| match e.syntax_error() {
            Some(syntax) => format!("{e}: {syntax}"),
            None => e.to_string(),
        })?;
    Ok((regex, PATTERNS.iter().map(|(s, _)| *s).collect()))
}

/// Largest compiled automaton.
const SIZE_LIMIT: usize = 32 << 20;

/// A template with its gaps written out.
fn expand(template: &str) -> String {
    let optional = format!("(?:{GAP})?");
    let mut out = String::with_capacity(template.len() * 2);
    for c in template.chars() {
        match c {
            ' ' => out.push_str(GAP),
            '~' => out.push_str(&optional),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_has_a_bounded_match_length() {
        // The linear-time argument of the module rests on this: a search reads at most the
        // longest match past where its match could start.
        for (signal, template) in PATTERNS {
            let hir = syntax::parse_with(
                &expand(template),
                &syntax::Config::new()
                    .unicode(false)
                    .utf8(true)
                    .case_insensitive(true),
            )
            .expect("parses");
            let max = hir.properties().maximum_len();
            assert!(
                max.is_some_and(|m| m <= 2048),
                "{signal:?} {template}: {max:?}"
            );
        }
    }

    #[test]
    fn the_automaton_compiles() {
        let (_, signals) = build().expect("builds");
        assert_eq!(signals.len(), PATTERNS.len());
    }
}
