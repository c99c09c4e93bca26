//! What is done with findings: per class, mask, keep the last four, replace with a keyed
//! pseudonym, block the whole content, or only count.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ring::hmac;
use serde_json::Value;

use crate::detect::{Class, Detector};

/// What to do with one class of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Replace with `[REDACTED:<class>]`.
    Mask,
    /// Keep the last four characters: `[REDACTED:<class>:…1234]`.
    Partial,
    /// Replace with a stable pseudonym, `<class>_<12 hex>`: the same value always gives the same
    /// pseudonym under one key, so agents can still correlate without seeing the value.
    Pseudonym,
    /// Refuse the whole content.
    Block,
    /// Leave it, but count it.
    Log,
    /// Ignore the class.
    Off,
}

impl Action {
    /// Parses a config word.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mask" => Self::Mask,
            "partial" => Self::Partial,
            "pseudonym" => Self::Pseudonym,
            "block" => Self::Block,
            "log" => Self::Log,
            "off" => Self::Off,
            _ => return None,
        })
    }

    /// The config word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mask => "mask",
            Self::Partial => "partial",
            Self::Pseudonym => "pseudonym",
            Self::Block => "block",
            Self::Log => "log",
            Self::Off => "off",
        }
    }

    /// moat's default: credentials, cards, IBANs and SSNs are masked; contact data and
    /// addresses are counted only (agents often need them to do their job).
    pub fn default_for(class: Class) -> Self {
        match class {
            Class::Email | Class::Phone | Class::IpAddress => Self::Log,
            _ => Self::Mask,
        }
    }
}

/// What redaction found and did: counts by class name and action, and whether any finding
/// blocks the content.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// (class name, action) → how many.
    pub counts: BTreeMap<(String, &'static str), usize>,
    /// A class whose action is `block` was found.
    pub blocked: bool,
}

impl Outcome {
    /// Whether anything was found.
    pub fn found(&self) -> bool {
        !self.counts.is_empty()
    }

    /// Whether any text was changed.
    pub fn changed(&self) -> bool {
        self.counts
            .keys()
            .any(|(_, a)| matches!(*a, "mask" | "partial" | "pseudonym"))
    }
}

/// A detector with the action for each class.
#[derive(Debug)]
pub struct Redactor {
    detector: Detector,
    actions: BTreeMap<Class, Action>,
    pseudonym_key: Option<hmac::Key>,
}

impl Redactor {
    /// `actions` overrides [`Action::default_for`] per class. Without `pseudonym_key`, a
    /// `pseudonym` action masks instead (there is nothing to key the pseudonyms with).
    pub fn new(
        detector: Detector,
        actions: BTreeMap<Class, Action>,
        pseudonym_key: Option<&[u8]>,
    ) -> Self {
        Self {
            detector,
            actions,
            pseudonym_key: pseudonym_key.map(|k| hmac::Key::new(hmac::HMAC_SHA256, k)),
        }
    }

    /// A redactor over the same detector with other actions (the automata are shared).
    pub fn with_actions(
        &self,
        actions: BTreeMap<Class, Action>,
        pseudonym_key: Option<&[u8]>,
    ) -> Self {
        Self::new(self.detector.clone(), actions, pseudonym_key)
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    fn action(&self, class: Class) -> Action {
        self.actions
            .get(&class)
            .copied()
            .unwrap_or_else(|| Action::default_for(class))
    }

    /// `text` with its findings treated, and what was found.
    pub fn redact<'t>(&self, text: &'t str, outcome: &mut Outcome) -> Cow<'t, str> {
        let findings = self.detector.scan(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in findings {
            let action = self.action(f.class);
            if action == Action::Off {
                continue;
            }
            let name = self.detector.class_name(f.class);
            *outcome
                .counts
                .entry((name.to_owned(), action.as_str()))
                .or_default() += 1;
            let value = &text[f.start..f.end];
            let replacement = match action {
                Action::Mask => format!("[REDACTED:{name}]"),
                Action::Partial => format!("[REDACTED:{name}:…{}]", last_four(value)),
                Action::Pseudonym => self.pseudonym(name, value),
                Action::Block => {
                    outcome.blocked = true;
                    continue;
                }
                Action::Log | Action::Off => continue,
            };
            out.push_str(&text[at..f.start]);
            out.push_str(&replacement);
            at = f.end;
        }
        if at == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    fn pseudonym(&self, name: &str, value: &str) -> String {
        match &self.pseudonym_key {
            Some(key) => {
                let tag = hmac::sign(key, value.as_bytes());
                let hex: String = tag.as_ref()[..6]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{name}_{hex}")
            }
            None => format!("[REDACTED:{name}]"),
        }
    }

    /// Treats every string in `value` (object keys are left alone) in place.
    pub fn redact_json(&self, value: &mut Value, outcome: &mut Outcome) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(new) = self.redact(s, outcome) {
                    *s = new;
                }
            }
            // A card or phone number may come as a JSON number.
            Value::Number(n) => {
                if let Cow::Owned(new) = self.redact(&n.to_string(), outcome) {
                    *value = Value::String(new);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v, outcome)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v, outcome)),
            _ => {}
        }
    }
}

fn last_four(value: &str) -> String {
    let chars: Vec<char> = value.chars().filter(char::is_ascii_alphanumeric).collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redactor(actions: &[(Class, Action)], key: Option<&[u8]>) -> Redactor {
        let detector =
            Detector::new(&[("employee_id".into(), r"\bEMP-\d{6}\b".into())]).expect("detector");
        Redactor::new(detector, actions.iter().copied().collect(), key)
    }

    #[test]
    fn each_action_does_what_it_says() {
        let text = "card 4111 1111 1111 1111, mail bob@example.com, id EMP-123456";
        let mut outcome = Outcome::default();
        let r = redactor(&[], None);
        let out = r.redact(text, &mut outcome);
        assert_eq!(
            out,
            "card [REDACTED:payment_card], mail bob@example.com, id [REDACTED:employee_id]"
        );
        assert_eq!(outcome.counts[&("email".into(), "log")], 1);
        assert!(outcome.changed() && !outcome.blocked);

        let r = redactor(&[(Class::PaymentCard, Action::Partial)], None);
        let out = r.redact(text, &mut Outcome::default());
        assert!(out.contains("[REDACTED:payment_card:…1111]"), "{out}");

        let r = redactor(&[(Class::Email, Action::Pseudonym)], Some(b"k"));
        let a = r
            .redact("bob@example.com", &mut Outcome::default())
            .into_owned();
        let b = r
            .redact("x bob@example.com", &mut Outcome::default())
            .into_owned();
        assert!(
            a.starts_with("email_") && a.len() == "email_".len() + 12,
            "{a}"
        );
        assert_eq!(b, format!("x {a}"), "stable under one key");
        let other = redactor(&[(Class::Email, Action::Pseudonym)], Some(b"k2"));
        assert_ne!(other.redact("bob@example.com", &mut Outcome::default()), a);

        let mut outcome = Outcome::default();
        let r = redactor(&[(Class::UsSsn, Action::Block)], None);
        r.redact("ssn 123-45-6789", &mut outcome);
        assert!(outcome.blocked);
        let mut outcome = Outcome::default();
        let clean = r.redact("nothing here", &mut outcome);
        assert!(matches!(clean, Cow::Borrowed(_)) && !outcome.found());
    }

    #[test]
    fn json_strings_are_treated_wherever_they_are() {
        let r = redactor(&[], None);
        let mut v = json!({
            "content": [{"type": "text", "text": "key AKIAIOSFODNN7EXAMPLE"}],
            "structuredContent": {"nested": ["ghp_0123456789abcdefghijABCDEFGHIJ012345"]},
            "AKIAIOSFODNN7EXAMPLE": 1,
            "card": 4111111111111111u64
        });
        let mut outcome = Outcome::default();
        r.redact_json(&mut v, &mut outcome);
        assert_eq!(v["content"][0]["text"], "key [REDACTED:aws_key]");
        assert_eq!(
            v["structuredContent"]["nested"][0],
            "[REDACTED:github_token]"
        );
        assert_eq!(
            v["card"], "[REDACTED:payment_card]",
            "a card as a JSON number"
        );
        assert_eq!(outcome.counts.len(), 3);
    }
}
