//! Scanning every string of a JSON value, and what to do about what is found.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use super::{InjectionScanner, Rule, Verdict, strip_invisible};

/// What to do with a value whose strings are scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Only record what was found (the gateway warns, adds it to the audit record).
    Annotate,
    /// Record, and remove the flagged invisible characters from every string.
    Strip,
    /// Record, and refuse the value when any string is an injection.
    Block,
}

impl Action {
    /// Parses a config word.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "annotate" => Self::Annotate,
            "strip" => Self::Strip,
            "block" => Self::Block,
            _ => return None,
        })
    }

    /// The config word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Annotate => "annotate",
            Self::Strip => "strip",
            Self::Block => "block",
        }
    }
}

/// What scanning a value found and did. Strings are scored one by one (the gateway sees each as
/// its own piece of content); the outcome keeps the highest score and verdict among them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Rule → how many times it fired, over all strings.
    pub rules: BTreeMap<Rule, usize>,
    /// The highest score of one string.
    pub max_score: u32,
    /// The worst verdict of one string; `None` before any string was scanned.
    pub verdict: Option<Verdict>,
    /// The action was `Block` and a string was an injection.
    pub blocked: bool,
    /// Some string was changed (`Strip` removed characters).
    pub changed: bool,
}

impl Outcome {
    /// Whether any rule fired.
    pub fn found(&self) -> bool {
        !self.rules.is_empty()
    }
}

impl InjectionScanner {
    /// Scans every string in `value`, object keys included (a key reaches the model too), and
    /// applies `action`. Keys are scanned but never rewritten: stripping one could merge it
    /// with another.
    pub fn scan_json(&self, value: &mut Value, action: Action, outcome: &mut Outcome) {
        match value {
            Value::String(s) => {
                if let Some(new) = self.scan_string(s, action, outcome) {
                    *s = new;
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| self.scan_json(v, action, outcome)),
            Value::Object(map) => {
                // Keys are never rewritten (stripping one could merge it with another), but a
                // key that reads as an injection blocks like a value does.
                let key_action = match action {
                    Action::Block => Action::Block,
                    _ => Action::Annotate,
                };
                for (key, v) in map.iter_mut() {
                    self.scan_string(key, key_action, outcome);
                    self.scan_json(v, action, outcome);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Scans one string into `outcome`; the replacement when `action` changes it.
    fn scan_string(&self, text: &str, action: Action, outcome: &mut Outcome) -> Option<String> {
        let report = self.scan(text);
        for hit in &report.hits {
            *outcome.rules.entry(hit.rule).or_default() += hit.count;
        }
        outcome.max_score = outcome.max_score.max(report.score);
        outcome.verdict = outcome.verdict.max(Some(report.verdict));
        match action {
            Action::Annotate => None,
            Action::Block => {
                outcome.blocked |= report.verdict == Verdict::Injection;
                None
            }
            Action::Strip => {
                let stripping =
                    report.hit(Rule::Invisible).is_some() || report.hit(Rule::Smuggled).is_some();
                match stripping.then(|| strip_invisible(text)) {
                    Some(Cow::Owned(new)) => {
                        outcome.changed = true;
                        Some(new)
                    }
                    _ => None,
                }
            }
        }
    }
}
