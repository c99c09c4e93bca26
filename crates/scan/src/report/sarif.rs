//! SARIF 2.1.0: one run, the whole rule catalogue in `tool.driver.rules`, one result per
//! finding located logically at `tools/<name>/<path>`.

use serde_json::{Value, json};

use crate::{Report, Rule, Severity};

/// The `$schema` written into every log.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF 2.1.0 log of `reports`. `source_uri`, when given, is the file the definitions were
/// read from and becomes each result's `artifactLocation.uri`.
pub fn sarif(reports: &[Report], source_uri: Option<&str>) -> String {
    let rules: Vec<Value> = Rule::ALL.iter().map(|r| rule(*r)).collect();
    let mut results = Vec::new();
    for report in reports {
        for f in &report.findings {
            let mut location = json!({
                "logicalLocations": [{
                    "name": report.name,
                    "fullyQualifiedName": format!("tools/{}/{}", report.name, f.path),
                    "kind": "member",
                }],
            });
            if let Some(uri) = source_uri {
                location["physicalLocation"] = json!({ "artifactLocation": { "uri": uri } });
            }
            results.push(json!({
                "ruleId": f.rule.id(),
                "ruleIndex": rule_index(f.rule),
                "level": level(f.severity),
                "message": { "text": format!("{}: {} (evidence: {})", crate::evidence::visible(&report.name), f.message, f.evidence) },
                "locations": [location],
                "properties": { "severity": f.severity.as_str(), "path": f.path, "evidence": f.evidence },
            }));
        }
    }
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "moat scan",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    format!("{log:#}")
}

fn rule(r: Rule) -> Value {
    json!({
        "id": r.id(),
        "name": r.id().get(6..).unwrap_or(r.id()),
        "shortDescription": { "text": r.doc() },
        "defaultConfiguration": { "level": level(r.default_severity()) },
        "properties": { "security-severity": security_severity(r.default_severity()), "tags": ["security", "mcp"] },
    })
}

fn rule_index(r: Rule) -> usize {
    Rule::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

/// SARIF has three result levels: high and critical are errors.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The CVSS-like score code-scanning dashboards read, as a string.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}
