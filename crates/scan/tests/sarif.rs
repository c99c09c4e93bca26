//! The SARIF output validates against the official SARIF 2.1.0 schema (vendored as
//! `tests/sarif-schema-2.1.0.json`, see `corpus/README.md` for its source).

// Test support: helpers below unwrap so that a broken schema or corpus fails loudly.
#![allow(clippy::unwrap_used)]

mod common;

use moat_scan::{Rule, Scanner, report};
use serde_json::Value;

/// The one pattern of the published schema that is not a valid Unicode regex (a stray `]`,
/// accepted only by ECMAScript's legacy syntax): jsonschema's meta-schema check rejects it. It
/// constrains `language`, which moat never writes, so it is dropped from the in-memory copy;
/// the vendored file stays as published.
const MALFORMED_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn drop_malformed_pattern(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("pattern").and_then(Value::as_str) == Some(MALFORMED_LANGUAGE_PATTERN) {
                map.remove("pattern");
            }
            map.values_mut().for_each(drop_malformed_pattern);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_malformed_pattern),
        _ => {}
    }
}

fn validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    drop_malformed_pattern(&mut schema);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn corpus_reports() -> Vec<moat_scan::Report> {
    let scanner = Scanner::new(&common::corpus_context()).unwrap();
    ["poisoned.json", "benign.json"]
        .iter()
        .flat_map(|f| common::cases(f))
        .map(|c| common::scan(&scanner, &c))
        .collect()
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let validator = validator();
    let reports = corpus_reports();
    for source in [None, Some("tests/corpus/poisoned.json")] {
        let log: Value = serde_json::from_str(&report::sarif(&reports, source)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");

        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "moat scan");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Rule::ALL.len());
        assert!(
            rules
                .iter()
                .all(|r| r["properties"]["security-severity"].is_string()
                    && r["defaultConfiguration"]["level"].is_string()
                    && r["shortDescription"]["text"].is_string())
        );
        let results = run["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
            let logical = &r["locations"][0]["logicalLocations"][0];
            assert!(
                logical["fullyQualifiedName"]
                    .as_str()
                    .unwrap()
                    .starts_with("tools/")
            );
            let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            assert_eq!(uri.as_str(), source);
        }
    }
}

#[test]
fn empty_sarif_is_valid_too() {
    let log: Value = serde_json::from_str(&report::sarif(&[], None)).unwrap();
    assert!(validator().is_valid(&log));
}

#[test]
fn the_schema_rejects_a_broken_log() {
    // Guard against a validator that accepts anything.
    let mut log: Value = serde_json::from_str(&report::sarif(&corpus_reports(), None)).unwrap();
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator().is_valid(&log));
}

#[test]
fn json_and_table_list_every_definition() {
    let reports = corpus_reports();
    let json: Value = serde_json::from_str(&report::json(&reports)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), reports.len());
    let first = &json[0]["findings"][0];
    for key in ["rule", "severity", "path", "evidence", "message"] {
        assert!(first[key].is_string(), "{key} missing in {first}");
    }
    let table = report::table(&reports);
    // The corpus has a name with a zero-width space: the table shows it, escaped.
    assert!(!table.contains('\u{200b}') && table.contains("read\\u{200b}file"));
    assert!(table.starts_with("SEVERITY"));
    assert!(
        table
            .trim_end()
            .ends_with(&format!("of {} definition(s)", reports.len()))
    );
}
