//! Precision and recall over the labelled corpus (`tests/corpus/poisoned.json`,
//! `benign.json`), at the "flagged Medium or higher" level and per rule.

mod common;

use std::collections::BTreeMap;

use moat_scan::{Report, Rule, Scanner, Severity};

/// Floors set from the measured numbers (printed by the test), a little below them.
const PRECISION_FLOOR: f64 = 0.95;
const RECALL_FLOOR: f64 = 0.95;
/// Every labelled rule must find at least this share of its cases.
const PER_RULE_RECALL_FLOOR: f64 = 0.75;

fn describe(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{}:{}@{}", f.rule.code(), f.severity, f.path))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn corpus_precision_and_recall() {
    let scanner = Scanner::new(&common::corpus_context()).unwrap();
    let poisoned = common::cases("poisoned.json");
    let benign = common::cases("benign.json");
    assert!(poisoned.len() >= 25 && benign.len() >= 25);

    let (mut tp, mut fn_, mut fp) = (0usize, 0usize, 0usize);
    // rule code → (labelled, found at any severity)
    let mut per_rule: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut benign_hits: BTreeMap<&'static str, usize> = BTreeMap::new();
    for case in &poisoned {
        let report = common::scan(&scanner, case);
        if report.is_flagged(Severity::Medium) {
            tp += 1;
        } else {
            fn_ += 1;
            println!("MISS   {:<40} {}", case.id, describe(&report));
        }
        for code in &case.expect {
            let entry = per_rule.entry(code.clone()).or_default();
            entry.0 += 1;
            if report.findings.iter().any(|f| f.rule.code() == code) {
                entry.1 += 1;
            } else {
                println!(
                    "RULE   {:<40} expected {code}, got {}",
                    case.id,
                    describe(&report)
                );
            }
        }
    }
    for case in &benign {
        let report = common::scan(&scanner, case);
        if report.is_flagged(Severity::Medium) {
            fp += 1;
            println!("FALSE+ {:<40} {}", case.id, describe(&report));
        } else if !report.findings.is_empty() {
            println!("low    {:<40} {}", case.id, describe(&report));
        }
        for f in report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Medium)
        {
            *benign_hits.entry(f.rule.code()).or_default() += 1;
        }
    }

    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "\nflagged >= medium: precision {precision:.3} ({tp}/{}), recall {recall:.3} ({tp}/{}), {} poisoned, {} benign",
        tp + fp,
        tp + fn_,
        poisoned.len(),
        benign.len()
    );
    println!(
        "{:<8} {:>8} {:>6} {:>7} {:>14}",
        "rule", "labelled", "found", "recall", "benign>=medium"
    );
    let mut worst_rule_recall = 1.0f64;
    for rule in Rule::ALL {
        let (labelled, found) = per_rule.get(rule.code()).copied().unwrap_or((0, 0));
        let r = found as f64 / labelled.max(1) as f64;
        worst_rule_recall = worst_rule_recall.min(r);
        let fps = benign_hits.get(rule.code()).copied().unwrap_or(0);
        println!(
            "{:<8} {labelled:>8} {found:>6} {r:>7.2} {fps:>14}",
            rule.code()
        );
        assert!(labelled > 0, "the corpus has no case for {}", rule.id());
    }
    assert!(
        precision >= PRECISION_FLOOR,
        "precision {precision:.3} < {PRECISION_FLOOR}"
    );
    assert!(
        recall >= RECALL_FLOOR,
        "recall {recall:.3} < {RECALL_FLOOR}"
    );
    assert!(
        worst_rule_recall >= PER_RULE_RECALL_FLOOR,
        "a rule's recall {worst_rule_recall:.2} < {PER_RULE_RECALL_FLOOR}"
    );
}
