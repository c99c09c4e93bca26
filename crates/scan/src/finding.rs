//! What a scan reports.

use serde::Serialize;

use crate::{Rule, Severity};

/// One signal found at one place in a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule that fired; serialized as its id.
    pub rule: Rule,
    /// How bad this occurrence is.
    pub severity: Severity,
    /// Where, as a JSON path: `description`, `inputSchema.properties.mode.enum[2]`, `name`.
    pub path: String,
    /// A short excerpt (at most 120 characters) with invisible characters shown as `\u{…}`.
    pub evidence: String,
    /// What was found, for a person.
    pub message: String,
}

/// Every finding for one definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The definition's `name`, or `<unnamed>`.
    pub name: String,
    /// Findings, most severe first, then by path.
    pub findings: Vec<Finding>,
    /// The highest severity among the findings, if any.
    pub max_severity: Option<Severity>,
}

impl Report {
    /// A report over `findings`, sorted, with at most one finding per rule and path (the most
    /// severe one).
    pub(crate) fn new(name: String, mut findings: Vec<Finding>) -> Self {
        findings.sort_by(|a, b| {
            (a.rule, &a.path, std::cmp::Reverse(a.severity)).cmp(&(
                b.rule,
                &b.path,
                std::cmp::Reverse(b.severity),
            ))
        });
        findings.dedup_by(|later, kept| later.rule == kept.rule && later.path == kept.path);
        findings.sort_by(|a, b| {
            (std::cmp::Reverse(a.severity), a.rule, &a.path).cmp(&(
                std::cmp::Reverse(b.severity),
                b.rule,
                &b.path,
            ))
        });
        let max_severity = findings.first().map(|f| f.severity);
        Self {
            name,
            findings,
            max_severity,
        }
    }

    /// Whether any finding is at `min` or above.
    pub fn is_flagged(&self, min: Severity) -> bool {
        self.max_severity.is_some_and(|s| s >= min)
    }

    /// Whether `rule` fired anywhere, at any severity.
    pub fn has(&self, rule: Rule) -> bool {
        self.findings.iter().any(|f| f.rule == rule)
    }
}
