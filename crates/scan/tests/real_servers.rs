//! The tool lists of five real MCP servers (captured from the running servers, see
//! `corpus/README.md`) must not reach High: a scanner that flags the reference servers would
//! be turned off.

mod common;

use moat_scan::{Scanner, Severity};

#[test]
fn no_real_tool_is_high_or_critical() {
    let scanner = Scanner::new(&common::real_context()).unwrap();
    let mut too_high = Vec::new();
    let tools = common::real_tools();
    for (server, tool) in &tools {
        let report = scanner.scan_for(server, tool);
        for f in &report.findings {
            println!(
                "{server}/{}: {} {} at {}: {} [{}]",
                report.name,
                f.severity,
                f.rule.id(),
                f.path,
                f.message,
                f.evidence
            );
        }
        if report.is_flagged(Severity::High) {
            too_high.push(format!("{server}/{}", report.name));
        }
    }
    println!("{} real tools scanned", tools.len());
    assert!(
        tools.len() >= 40,
        "expected the five captured lists, got {} tools",
        tools.len()
    );
    assert!(
        too_high.is_empty(),
        "real tools flagged High or Critical: {too_high:?}"
    );
}
