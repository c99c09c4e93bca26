//! Prompt-injection detection: scored rules over the text of tool results and arguments.
//!
//! Each [`Rule`] looks for one kind of signal and carries a weight; a text's score is the sum of
//! the weights of the distinct rules that fired (a rule firing ten times counts once: repetition
//! is not more evidence of intent, and it keeps the score bounded). A score at or above the
//! threshold makes the text an [`Verdict::Injection`]; any lower score is
//! [`Verdict::Suspicious`]. The weights are set so that one unambiguous signal (an override
//! phrase said as an order, smuggled tag text) reaches the default threshold alone, while the
//! signals that also occur in ordinary content (a role-shaped line, an image on an unknown host,
//! text hidden in base64, a stray zero-width space) need a second one.
//!
//! The scan is linear in the text: the phrase, marker and link patterns are one automaton with
//! bounded repetitions, searched once from left to right; the invisible characters are one pass
//! over the bytes, and so are the encoded runs (a byte loop); runs are decoded once each, at most [`DECODE_LIMIT`] bytes, and the decoded
//! text is searched once. Reports carry rule ids and byte spans, never the text.

mod encoded;
mod invisible;
mod json;
mod links;
mod patterns;
mod speech;

use std::ops::Range;

use regex_automata::Input;
use regex_automata::meta::Regex;

pub use invisible::strip_invisible;
pub use json::{Action, Outcome};
pub use links::HostPattern;

use patterns::Signal;

/// One kind of injection signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Instruction-override phrasing said as an order ("ignore all previous instructions",
    /// "you are now an unrestricted AI", "do not tell the user"), not quoted or reported.
    Override,
    /// Chat-template tokens and fake conversation tags (`<|im_start|>`, `[INST]`, `<<SYS>>`,
    /// `</tool_result>`, `<system_prompt>`): text posing as the frame around it. Not when
    /// quoted or in a code span or fence, where documentation about templates shows them.
    RoleMarker,
    /// Role-shaped text that is as often data: a line opening with a role name (`System:`,
    /// `Assistant:`, `### Human`), `[SYSTEM]`, a `<system>` element — a fake turn, or a log
    /// line, a transcript, an XML document. Weak alone.
    RoleHint,
    /// Unicode tag characters outside a flag sequence: ASCII text people cannot see.
    Smuggled,
    /// Zero-width characters between ASCII or other invisible characters, a BOM after the
    /// start, bidi controls in text without right-to-left script.
    Invisible,
    /// A markdown or HTML image, or a markdown link, on a host not on the allowlist, whose URL
    /// carries data or a placeholder for the model to fill (fetched when rendered or clicked).
    ExfilLink,
    /// A base64 or hex run of 32+ characters that decodes to readable text.
    Encoded,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Self; 7] = [
        Self::Override,
        Self::RoleMarker,
        Self::RoleHint,
        Self::Smuggled,
        Self::Invisible,
        Self::ExfilLink,
        Self::Encoded,
    ];

    /// The stable id used in config, metrics and audit records.
    pub fn id(self) -> &'static str {
        match self {
            Self::Override => "injection.override",
            Self::RoleMarker => "injection.role_marker",
            Self::RoleHint => "injection.role_hint",
            Self::Smuggled => "injection.smuggled",
            Self::Invisible => "injection.invisible",
            Self::ExfilLink => "injection.exfil_link",
            Self::Encoded => "injection.encoded",
        }
    }

    /// What the rule adds to a text's score. Override phrases, template tokens, smuggled text
    /// and data-carrying URLs off the allowlist are decisive alone (each is already screened:
    /// quoted or shown as code, flag sequences, URLs that carry nothing); the rest are shapes
    /// ordinary content has too, and need each other or a decisive signal.
    pub fn weight(self) -> u32 {
        match self {
            Self::Override | Self::RoleMarker | Self::Smuggled | Self::ExfilLink => 100,
            Self::Invisible => 40,
            Self::RoleHint | Self::Encoded => 30,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The default threshold: one decisive signal, or all three weak ones (invisible characters,
/// a role-shaped line and text hidden in base64 make 100), but never one or two weak shapes:
/// a log line with `[SYSTEM]` and a JWT is not an attack.
pub const DEFAULT_THRESHOLD: u32 = 100;

/// How much of one encoded run is decoded and searched: enough for any instruction, and a bound
/// on the buffer whatever the run's length.
pub const DECODE_LIMIT: usize = 16 << 10;

/// How many spans a report keeps per rule (the count goes on): a megabyte of one phrase must
/// not make a megabyte of report.
pub const MAX_SPANS: usize = 16;

/// What a scanner is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The score at which a text is an injection; at least 1.
    pub threshold: u32,
    /// Hosts images and links may point to: `example.com` (that host) or `*.example.com` (its
    /// subdomains, not itself).
    pub allowed_hosts: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            allowed_hosts: Vec::new(),
        }
    }
}

/// Settings that cannot make a scanner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A threshold of 0 would call every text an injection.
    #[error("the injection threshold must be at least 1")]
    ZeroThreshold,
    /// A host pattern is not a host name, or has a `*` elsewhere than a leading `*.`.
    #[error("link host pattern {pattern:?} is not valid: {reason}")]
    HostPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The built-in patterns do not compile (a bug, caught by the tests).
    #[error("the injection patterns do not compile: {0}")]
    Compile(String),
}

/// A byte range of the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Where it starts, in bytes.
    pub start: usize,
    /// Where it ends (exclusive).
    pub end: usize,
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Self {
        Self {
            start: r.start,
            end: r.end,
        }
    }
}

/// One rule that fired: how often, and where (the first [`MAX_SPANS`] places). A signal found
/// inside decoded text is placed on the encoded run or tag run that hid it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule.
    pub rule: Rule,
    /// How many times it fired.
    pub count: usize,
    /// Where, in order of discovery.
    pub spans: Vec<Span>,
}

/// What a text is judged to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// No rule fired.
    Clean,
    /// Some rules fired, below the threshold.
    Suspicious,
    /// The score reached the threshold.
    Injection,
}

/// The result of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The sum of the weights of the rules that fired.
    pub score: u32,
    /// The score against the threshold.
    pub verdict: Verdict,
    /// The rules that fired, in [`Rule::ALL`] order.
    pub hits: Vec<Hit>,
}

impl Report {
    /// The hit of `rule`, if it fired.
    pub fn hit(&self, rule: Rule) -> Option<&Hit> {
        self.hits.iter().find(|h| h.rule == rule)
    }
}

/// Scores texts for prompt injection; build once, share freely.
#[derive(Debug)]
pub struct InjectionScanner {
    automaton: Regex,
    signals: Vec<Signal>,
    allowed_hosts: Vec<HostPattern>,
    threshold: u32,
}

impl InjectionScanner {
    /// Compiles the rules and checks the settings.
    pub fn new(settings: Settings) -> Result<Self, Error> {
        if settings.threshold == 0 {
            return Err(Error::ZeroThreshold);
        }
        let allowed_hosts = settings
            .allowed_hosts
            .iter()
            .map(|p| HostPattern::parse(p))
            .collect::<Result<_, _>>()?;
        let (automaton, signals) = patterns::build().map_err(Error::Compile)?;
        Ok(Self {
            automaton,
            signals,
            allowed_hosts,
            threshold: settings.threshold,
        })
    }

    /// The score at which a text is an injection.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Scores `text`.
    pub fn scan(&self, text: &str) -> Report {
        let mut tally = Tally::default();
        self.search(text, &mut tally, None);
        let flagged = invisible::find(text);
        for &(span, kind) in &flagged {
            match kind {
                invisible::Kind::Tag => {
                    tally.add(Rule::Smuggled, span);
                    let hidden = invisible::decode_tags(&text[span.start..span.end]);
                    self.search(&hidden, &mut tally, Some(span));
                }
                invisible::Kind::Other => tally.add(Rule::Invisible, span),
            }
        }
        if let (Some(first), Some(last)) = (flagged.first(), flagged.last()) {
            // Zero-width characters inside words ("ig\u{200B}nore") hide phrases from the
            // patterns: search once more without them, for what the first search missed.
            let clean = strip_invisible(text);
            let mut unhidden = Tally::default();
            let around = Span {
                start: first.0.start,
                end: last.0.end,
            };
            self.search(&clean, &mut unhidden, Some(around));
            tally.merge_new(unhidden);
        }
        tally.report(self.threshold)
    }

    /// One pass of the automaton over `text`. `hidden_at` is set when `text` was decoded from
    /// the outer text at that span: then only phrases and markers count, found at that span,
    /// and nothing is decoded again (one level: the decoded text is at most the run's length,
    /// so the work stays linear).
    fn search(&self, text: &str, tally: &mut Tally, hidden_at: Option<Span>) {
        let mut fences = speech::Fences::default();
        let mut last_url = 0;
        let mut at = 0;
        while at < text.len() {
            let Some(m) = self
                .automaton
                .search(&Input::new(text).span(at..text.len()))
            else {
                break;
            };
            let span = Span::from(m.range());
            let place = hidden_at.unwrap_or(span);
            let mut next = m.end().max(m.start() + 1);
            match self.signals[m.pattern().as_usize()] {
                Signal::Benign => {}
                Signal::Override => {
                    if speech::is_order(text, span) {
                        tally.add(Rule::Override, place);
                    }
                }
                Signal::RoleMarker => {
                    if !speech::is_shown(text, span, &mut fences) {
                        tally.add(Rule::RoleMarker, place);
                    }
                }
                Signal::RoleHint => tally.add(Rule::RoleHint, place),
                Signal::Link if hidden_at.is_none() => {
                    // Searching the alt text again finds `[alt](url` after `![alt](url`: the
                    // same URL (every link pattern ends at its `//`), counted once.
                    if span.end != last_url && links::leaks(text, span.end, &self.allowed_hosts) {
                        tally.add(Rule::ExfilLink, span);
                    }
                    last_url = span.end;
                    // The alt text may hold a phrase: search it too (at most the pattern's
                    // bounded alt length again, so still linear).
                    next = m.start() + 1;
                }
                Signal::Link => {}
            }
            at = next;
        }
        // Encoded runs are found apart (see `encoded::runs`), and not again inside what one
        // decodes to: one level deep.
        if hidden_at.is_none() {
            for (start, end) in encoded::runs(text) {
                if let Some(decoded) = encoded::decode_text(&text[start..end]) {
                    let span = Span { start, end };
                    tally.add(Rule::Encoded, span);
                    self.search(&decoded, tally, Some(span));
                }
            }
        }
    }
}

/// Hits gathered during one scan.
#[derive(Debug, Default)]
struct Tally {
    hits: [Option<Hit>; Rule::ALL.len()],
}

impl Tally {
    fn add(&mut self, rule: Rule, span: Span) {
        let hit = self.hits[rule.index()].get_or_insert_with(|| Hit {
            rule,
            count: 0,
            spans: Vec::new(),
        });
        hit.count += 1;
        // Two signals in one decoded run share its span: keep it once.
        if hit.spans.len() < MAX_SPANS && hit.spans.last() != Some(&span) {
            hit.spans.push(span);
        }
    }

    /// Adds the hits of rules that have none here yet.
    fn merge_new(&mut self, other: Self) {
        for (mine, theirs) in self.hits.iter_mut().zip(other.hits) {
            if mine.is_none() {
                *mine = theirs;
            }
        }
    }

    fn report(self, threshold: u32) -> Report {
        let hits: Vec<Hit> = self.hits.into_iter().flatten().collect();
        let score = hits.iter().map(|h| h.rule.weight()).sum();
        let verdict = if hits.is_empty() {
            Verdict::Clean
        } else if score >= threshold {
            Verdict::Injection
        } else {
            Verdict::Suspicious
        };
        Report {
            score,
            verdict,
            hits,
        }
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
