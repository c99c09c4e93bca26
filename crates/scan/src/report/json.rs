//! JSON: an array of definitions with their findings.

use serde_json::{Value, json};

use crate::Report;

/// `[{"name", "max_severity", "findings": [{"rule", "severity", "path", "evidence",
/// "message"}]}]`, pretty-printed. Every definition is listed, flagged or not.
pub fn json(reports: &[Report]) -> String {
    let tools: Vec<Value> = reports
        .iter()
        .map(|r| {
            let findings: Vec<Value> = r
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "rule": f.rule.id(),
                        "severity": f.severity.as_str(),
                        "path": f.path,
                        "evidence": f.evidence,
                        "message": f.message,
                    })
                })
                .collect();
            json!({
                "name": r.name,
                "max_severity": r.max_severity.map(|s| s.as_str()),
                "findings": findings,
            })
        })
        .collect();
    format!("{:#}", Value::Array(tools))
}
