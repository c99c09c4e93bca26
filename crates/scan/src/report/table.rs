//! A plain-text table, one line per finding, most severe first.

use std::fmt::Write as _;

use crate::Report;

/// One line per finding (severity, rule, tool, path, message and evidence), then a summary.
/// Tools without findings are counted, not listed.
pub fn table(reports: &[Report]) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut lines = Vec::new();
    for report in reports {
        for f in &report.findings {
            rows.push([
                f.severity.as_str().to_uppercase(),
                f.rule.id().to_owned(),
                crate::evidence::visible(&report.name),
                f.path.clone(),
                f.message.clone(),
            ]);
            lines.push(f.evidence.clone());
        }
    }
    let header = ["SEVERITY", "RULE", "TOOL", "PATH", "MESSAGE"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if !rows.is_empty() {
        push_row(&mut out, &header, &widths);
        for (row, evidence) in rows.iter().zip(&lines) {
            push_row(&mut out, row, &widths);
            let _ = writeln!(
                out,
                "{:indent$}  evidence: {evidence}",
                "",
                indent = widths[0]
            );
        }
    }
    let flagged = reports.iter().filter(|r| !r.findings.is_empty()).count();
    let _ = writeln!(
        out,
        "{} finding(s) in {flagged} of {} definition(s)",
        rows.len(),
        reports.len()
    );
    out
}

fn push_row(out: &mut String, row: &[String; 5], widths: &[usize; 5]) {
    let mut line = String::new();
    for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
        if i + 1 == row.len() {
            line.push_str(cell);
        } else {
            let _ = write!(line, "{cell:<width$}  ");
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}
