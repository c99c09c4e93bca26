//! Finding personal data and secrets in text.

mod validate;

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};

/// What kind of data a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number (Luhn-valid, known issuer).
    PaymentCard,
    /// An IBAN (mod-97 valid).
    Iban,
    /// A US social security number in an issued range.
    UsSsn,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An AWS access key id or secret access key.
    AwsKey,
    /// A Google Cloud API key.
    GcpKey,
    /// An Azure storage account key or client secret.
    AzureKey,
    /// A GitHub token.
    GithubToken,
    /// A GitLab token.
    GitlabToken,
    /// A Slack token.
    SlackToken,
    /// A Stripe secret or restricted key.
    StripeKey,
    /// An OpenAI-style API key.
    OpenaiKey,
    /// A PEM private key.
    PrivateKey,
    /// A JSON Web Token.
    Jwt,
    /// A value behind a secret-looking key name (`password=…`, `api_key: …`).
    NamedSecret,
    /// A pattern from config: its index among the custom patterns.
    Custom(u16),
}

impl Class {
    /// Every built-in class.
    pub const BUILT_IN: [Self; 17] = [
        Self::Email,
        Self::Phone,
        Self::PaymentCard,
        Self::Iban,
        Self::UsSsn,
        Self::IpAddress,
        Self::AwsKey,
        Self::GcpKey,
        Self::AzureKey,
        Self::GithubToken,
        Self::GitlabToken,
        Self::SlackToken,
        Self::StripeKey,
        Self::OpenaiKey,
        Self::PrivateKey,
        Self::Jwt,
        Self::NamedSecret,
    ];

    /// The name used in config, masks (`[REDACTED:<name>]`), metrics and audit records;
    /// `custom` for a custom pattern (the detector knows its own name).
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::PaymentCard => "payment_card",
            Self::Iban => "iban",
            Self::UsSsn => "us_ssn",
            Self::IpAddress => "ip_address",
            Self::AwsKey => "aws_key",
            Self::GcpKey => "gcp_key",
            Self::AzureKey => "azure_key",
            Self::GithubToken => "github_token",
            Self::GitlabToken => "gitlab_token",
            Self::SlackToken => "slack_token",
            Self::StripeKey => "stripe_key",
            Self::OpenaiKey => "openai_key",
            Self::PrivateKey => "private_key",
            Self::Jwt => "jwt",
            Self::NamedSecret => "named_secret",
            Self::Custom(_) => "custom",
        }
    }

    /// The built-in class named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::BUILT_IN.into_iter().find(|c| c.name() == name)
    }
}

/// One piece of sensitive data: its class and byte range (never its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub class: Class,
    /// Where it starts, in bytes.
    pub start: usize,
    /// Where it ends (exclusive).
    pub end: usize,
}

/// A custom pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("pattern {name:?} does not compile: {reason}")]
pub struct DetectorError {
    /// The pattern's name.
    pub name: String,
    /// The regex engine's reason.
    pub reason: String,
}

/// A check digit or range test on a match.
type Check = fn(&str) -> bool;

/// How a built-in pattern is written and checked.
struct Spec {
    class: Class,
    pattern: &'static str,
    /// Applied to the match (or to its `value` group).
    check: Option<Check>,
}

/// The built-in patterns, in priority order (where two match at the same place, the first
/// wins: credentials before personal data, cards before phone numbers). They are ASCII only
/// (`\d`, `\s`, `\b` are ASCII: the automaton stays small and fast); a pattern whose secret
/// is only part of the match puts it in the group named `value`.
const SPECS: &[Spec] = &[
    Spec {
        class: Class::PrivateKey,
        pattern: r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[A-Za-z0-9+/=\s:,.-]+?-----END (?:[A-Z]+ )*PRIVATE KEY-----",
        check: None,
    },
    Spec {
        class: Class::Jwt,
        pattern: r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
        check: None,
    },
    Spec {
        class: Class::AwsKey,
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        check: None,
    },
    Spec {
        class: Class::AwsKey,
        pattern: r#"(?i:aws_?secret_?access_?key|aws_?secret)["']?\s*[:=]\s*["']?(?P<value>[A-Za-z0-9/+=]{40})\b"#,
        check: None,
    },
    Spec {
        class: Class::GcpKey,
        pattern: r"\bAIza[0-9A-Za-z_-]{35}",
        check: None,
    },
    Spec {
        class: Class::AzureKey,
        pattern: r"(?i:AccountKey)=(?P<value>[A-Za-z0-9+/]{20,}={0,2})",
        check: None,
    },
    Spec {
        class: Class::AzureKey,
        pattern: r"\b[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
        check: None,
    },
    Spec {
        class: Class::GithubToken,
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        check: None,
    },
    Spec {
        class: Class::GitlabToken,
        pattern: r"\bglpat-[A-Za-z0-9_-]{20}\b",
        check: None,
    },
    Spec {
        class: Class::SlackToken,
        pattern: r"\bxox[abposr]-[A-Za-z0-9-]{10,72}\b",
        check: None,
    },
    Spec {
        class: Class::StripeKey,
        pattern: r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,99}\b",
        check: None,
    },
    Spec {
        class: Class::OpenaiKey,
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,200}\b",
        check: Some(validate::secret_value),
    },
    Spec {
        class: Class::NamedSecret,
        pattern: r#"(?i:\b(?:passw(?:or)?d|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key|bearer))["']?\s*[:=]\s*["']?(?P<value>[!#-%(-+\--:<-~]{8,200})"#,
        check: Some(validate::secret_value),
    },
    Spec {
        class: Class::Email,
        pattern: r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b",
        check: None,
    },
    Spec {
        class: Class::PaymentCard,
        pattern: r"\b\d(?:[ -]?\d){12,18}\b",
        check: Some(validate::payment_card),
    },
    Spec {
        class: Class::Iban,
        pattern: r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
        check: Some(validate::iban),
    },
    Spec {
        class: Class::UsSsn,
        pattern: r"\b\d{3}-\d{2}-\d{4}\b",
        check: Some(validate::us_ssn),
    },
    Spec {
        class: Class::IpAddress,
        pattern: r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b",
        check: Some(validate::ip_address),
    },
    Spec {
        class: Class::Phone,
        pattern: r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}\b|\+\d{8,15}\b",
        check: Some(validate::phone),
    },
];

/// Finds sensitive data: the built-in patterns, then custom ones from config.
/// Cloning shares the compiled automata (one detector serves every per-tool redactor).
#[derive(Debug, Clone)]
pub struct Detector {
    /// Every pattern in one automaton: one pass finds the leftmost match of any of them.
    all: Regex,
    patterns: Vec<Pattern>,
    custom_names: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pattern {
    class: Class,
    check: Option<Check>,
    /// The pattern alone, to find its `value` group; `None` when the whole match is the secret.
    value: Option<Regex>,
}

impl Detector {
    /// The built-in patterns plus `custom` (name, regex) pairs. Custom patterns are matched
    /// as ASCII too (`\d` is 0-9), and their whole match is masked.
    pub fn new(custom: &[(String, String)]) -> Result<Self, DetectorError> {
        let mut sources: Vec<(Class, &str, Option<Check>)> = SPECS
            .iter()
            .map(|s| (s.class, s.pattern, s.check))
            .collect();
        for (i, (name, pattern)) in custom.iter().enumerate() {
            let index = u16::try_from(i).map_err(|_| DetectorError {
                name: name.clone(),
                reason: "too many custom patterns".into(),
            })?;
            sources.push((Class::Custom(index), pattern, None));
        }
        let name_of = |class: Class| match class {
            Class::Custom(i) => custom[usize::from(i)].0.clone(),
            c => c.name().to_owned(),
        };
        let mut patterns = Vec::with_capacity(sources.len());
        for (class, pattern, check) in &sources {
            let single = build(&[pattern]).map_err(|reason| DetectorError {
                name: name_of(*class),
                reason,
            })?;
            let has_value = single
                .group_info()
                .to_index(PatternID::ZERO, "value")
                .is_some();
            patterns.push(Pattern {
                class: *class,
                check: *check,
                value: has_value.then_some(single),
            });
        }
        let texts: Vec<&str> = sources.iter().map(|(_, p, _)| *p).collect();
        let all = build(&texts).map_err(|reason| DetectorError {
            name: "the pattern set".into(),
            reason,
        })?;
        Ok(Self {
            all,
            patterns,
            custom_names: custom.iter().map(|(n, _)| n.clone()).collect(),
        })
    }

    /// A class's name: a custom pattern's own name, else the built-in name.
    pub fn class_name(&self, class: Class) -> &str {
        match class {
            Class::Custom(i) => self
                .custom_names
                .get(usize::from(i))
                .map_or("custom", String::as_str),
            c => c.name(),
        }
    }

    /// Every finding in `text`, in order and without overlaps. A candidate its check refuses
    /// does not hide what starts inside it: the search goes on from its next character (so the
    /// IP in `10.100.200.1` is found after the phone-shaped `10.100.200` is refused). Every
    /// pattern is bounded or unchecked, so this stays linear.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(m) = self.all.search(&Input::new(text).span(at..text.len())) {
            let p = &self.patterns[m.pattern().as_usize()];
            match self.accept(p, text, m.range()) {
                Some(finding) => {
                    out.push(finding);
                    at = m.end().max(m.start() + 1);
                }
                None => at = next_char(text, m.start()),
            }
            if at >= text.len() {
                break;
            }
        }
        out
    }

    /// The finding a candidate match makes, if its value passes the pattern's checks.
    fn accept(&self, p: &Pattern, text: &str, range: std::ops::Range<usize>) -> Option<Finding> {
        let (start, end) = match &p.value {
            None => (range.start, range.end),
            Some(single) => value_span(single, text, range)?,
        };
        let alone = !is_number(p.class) || stands_alone(text, start, end);
        (alone && p.check.is_none_or(|check| check(&text[start..end]))).then_some(Finding {
            class: p.class,
            start,
            end,
        })
    }
}

/// The byte index of the character after the one at `i`.
fn next_char(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len(), |c| i + c.len_utf8())
}

/// Compiles patterns into one automaton: ASCII classes, UTF-8 matches only, bounded size.
fn build(patterns: &[&str]) -> Result<Regex, String> {
    Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(true))
        .configure(meta::Config::new().nfa_size_limit(Some(SIZE_LIMIT)))
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

/// The `value` group of the one pattern's match within `range`.
fn value_span(single: &Regex, text: &str, range: std::ops::Range<usize>) -> Option<(usize, usize)> {
    let mut caps = single.create_captures();
    single.search_captures(
        &Input::new(text)
            .range(range)
            .anchored(regex_automata::Anchored::Yes),
        &mut caps,
    );
    let span = caps.get_group_by_name("value")?;
    Some((span.start, span.end))
}

/// Largest compiled automaton, bounding what a custom pattern may cost.
const SIZE_LIMIT: usize = 64 << 20;

/// Classes written as groups of digits: a match that is only part of a longer run of digit
/// groups (an order number, a failed card) is not one.
fn is_number(class: Class) -> bool {
    matches!(class, Class::Phone | Class::PaymentCard | Class::UsSsn)
}

/// Whether the digits at `start..end` are not continued by another digit group on either side
/// (across one separator).
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    !continues(text[end..].chars()) && !continues(text[..start].chars().rev())
}

/// Whether `chars` begins with a digit, after at most one separator.
fn continues(chars: impl Iterator<Item = char>) -> bool {
    let mut chars = chars.peekable();
    let _separator = chars.next_if(|c| matches!(c, ' ' | '-' | '.'));
    chars.peek().is_some_and(char::is_ascii_digit)
}

#[cfg(test)]
mod tests;
