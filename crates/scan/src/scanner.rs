//! The entry point: rules compiled once from a [`Context`], then one walk per definition.

use regex::Regex;
use serde_json::Value;

use crate::evidence::excerpt;
use crate::rules::{self, Encoded, Hit, Names, Prose, Shadowing};
use crate::unicode;
use crate::walk::{self, Site, Slot};
use crate::{Context, Finding, Report, Rule, Severity};

/// A description longer than this many characters is worth a look.
pub const LONG_DESCRIPTION: usize = 1024;
/// A description longer than this many characters is suspicious by its size alone.
pub const VERY_LONG_DESCRIPTION: usize = 4096;

/// Why a scanner could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A rule's pattern did not compile; with a huge context, the name list may pass the
    /// regex size limit.
    #[error("a scan rule's pattern did not compile: {0}")]
    Pattern(#[from] regex::Error),
}

/// Scans tool and prompt definitions. Build once per context (the patterns compile here),
/// then [`scan`](Self::scan) each definition; a scan allocates only for what it reports.
#[derive(Debug)]
pub struct Scanner {
    prose: Prose,
    encoded: Encoded,
    shadowing: Shadowing,
    names: Names,
    label: Regex,
}

/// What is known about the definition being scanned.
struct Subject<'a> {
    name: &'a str,
    server: Option<&'a str>,
}

impl Scanner {
    /// A scanner that knows the tools and servers in `context`.
    pub fn new(context: &Context) -> Result<Self, BuildError> {
        Ok(Self {
            prose: Prose::new()?,
            encoded: Encoded::new()?,
            shadowing: Shadowing::new(context)?,
            names: Names::new(context),
            label: rules::pattern(
                r"^\s*(?:important|note|system|assistant|instructions?|attention)\s*:",
            )?,
        })
    }

    /// Scans one definition (a tool, a prompt, any object) whose server is not known: every
    /// tool in the context counts as another server's.
    pub fn scan(&self, definition: &Value) -> Report {
        self.scan_inner(definition, None)
    }

    /// Scans one definition offered by `server`: that server's own tools may refer to each
    /// other and are not typosquats of each other.
    pub fn scan_for(&self, server: &str, definition: &Value) -> Report {
        self.scan_inner(definition, Some(server))
    }

    fn scan_inner(&self, definition: &Value, server: Option<&str>) -> Report {
        let name = definition
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>");
        let subject = Subject { name, server };
        let mut findings = Vec::new();
        for site in walk::strings(definition) {
            self.scan_site(&site, &subject, &mut findings);
        }
        Report::new(name.to_owned(), findings)
    }

    fn scan_site(&self, site: &Site<'_>, subject: &Subject<'_>, out: &mut Vec<Finding>) {
        let raw = site.text;
        let found = |hit: Hit, text: &str| Finding {
            rule: hit.rule,
            severity: hit.severity,
            path: site.path.clone(),
            evidence: excerpt(text, hit.at.clone()),
            message: hit.message,
        };
        out.extend(rules::invisible(raw, site.slot).map(|h| found(h, raw)));
        let mut hits = Vec::new();
        match site.slot {
            Slot::Pattern => return,
            Slot::Name if site.path == "name" => {
                self.names.check(raw, subject.server, &mut hits);
                out.extend(hits.into_iter().map(|h| found(h, raw)));
                return;
            }
            Slot::Name | Slot::Key => {
                if let Some(message) = rules::confusable(raw) {
                    out.push(found(
                        Hit::new(Rule::ConfusableName, Severity::High, 0..raw.len(), message),
                        raw,
                    ));
                }
                return;
            }
            Slot::Prose | Slot::Title | Slot::Value | Slot::Other => {}
        }
        let text = unicode::strip_invisible(raw);
        self.prose.check(&text, &mut hits);
        self.shadowing
            .check(&text, subject.name, subject.server, &mut hits);
        self.encoded.check(&text, &self.prose, &mut hits);
        if site.slot == Slot::Prose {
            hits.extend(length(&text));
        }
        if site.slot.is_value_like() {
            hits.extend(self.value_instructions(&text, &hits));
        }
        let hidden = unicode::decode_tags(raw);
        let mut in_tags = Vec::new();
        if !hidden.is_empty() {
            self.prose.check(&hidden, &mut in_tags);
        }
        out.extend(hits.into_iter().map(|h| found(h, &text)));
        out.extend(in_tags.into_iter().map(|mut h| {
            h.message = format!("in text hidden as tag characters: {}", h.message);
            found(h, &hidden)
        }));
    }

    /// MS009: a value or title that carries instructions, at least as severe as they are.
    fn value_instructions(&self, text: &str, hits: &[Hit]) -> Option<Hit> {
        let steering = hits.iter().filter(|h| match h.rule {
            Rule::HiddenInstructions
            | Rule::ModelDirective
            | Rule::Exfiltration
            | Rule::Secrecy => true,
            Rule::SensitiveFile | Rule::ToolShadowing => h.severity >= Severity::High,
            _ => false,
        });
        let worst = steering.max_by_key(|h| h.severity);
        if let Some(h) = worst {
            let severity = h.severity.max(Severity::High);
            let message = format!(
                "instructions in a schema value or title ({}), where none belong",
                h.rule.code()
            );
            return Some(Hit::new(
                Rule::SchemaValueInstructions,
                severity,
                h.at.clone(),
                message,
            ));
        }
        self.label.find(text).map(|m| {
            Hit::new(
                Rule::SchemaValueInstructions,
                Severity::Medium,
                m.range(),
                "schema value or title shaped as a note to the model",
            )
        })
    }
}

/// MS011 for one description.
fn length(text: &str) -> Option<Hit> {
    let chars = text.chars().count();
    let severity = match chars {
        n if n > VERY_LONG_DESCRIPTION => Severity::Medium,
        n if n > LONG_DESCRIPTION => Severity::Low,
        _ => return None,
    };
    Some(Hit::new(
        Rule::ExcessiveLength,
        severity,
        0..0,
        format!("description is {chars} characters long"),
    ))
}

#[cfg(test)]
mod tests;
