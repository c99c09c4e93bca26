//! PII and secret detection (`moat_guard`): one scan-and-mask of a typical 4 KiB tool result
//! and of a 256 KiB one, each with a few planted findings among ordinary text; and one
//! prompt-injection scan of the same texts; and the check of a typical call against its schema.

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use moat_guard::injection::{Settings, Verdict};
use moat_guard::{ArgumentLimits, ArgumentSchema, Detector, InjectionScanner, Outcome, Redactor};

/// Ordinary prose and log lines with numbers, paths and versions, and every `every`-th line a
/// planted finding, up to `bytes`.
fn text(bytes: usize, every: usize) -> String {
    let lines = [
        "2026-12-02T10:00:00Z INFO request served in 12.5 ms (v1.4.2) path=/srv/app/data/report.csv",
        "The quarterly report lists 1,204 orders; order 77812 shipped on 2026-11-30 to Lyon.",
        "fn main() { let v: std::vec::Vec<u32> = (0..10).collect(); println!(\"{v:?}\"); }",
        "Customer feedback: the new dashboard loads faster, but exporting to PDF still fails.",
    ];
    let planted = [
        "contact: alice.smith@example.com, +1 415 555 2671",
        "card 4111 1111 1111 1111 exp 12/29",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "token ghp_0123456789abcdefghijABCDEFGHIJ012345",
    ];
    let mut out = String::with_capacity(bytes + 128);
    let mut i = 0;
    while out.len() < bytes {
        let line = if i % every == every - 1 {
            planted[(i / every) % planted.len()]
        } else {
            lines[i % lines.len()]
        };
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out.truncate(bytes);
    out
}

fn scans(c: &mut Criterion) {
    let redactor = Redactor::new(Detector::new(&[]).unwrap(), BTreeMap::new(), None);
    for (name, bytes) in [("4 KiB", 4 << 10), ("256 KiB", 256 << 10)] {
        let input = text(bytes, 20);
        let mut outcome = Outcome::default();
        let masked = redactor.redact(&input, &mut outcome);
        assert!(
            outcome.changed() && masked.contains("[REDACTED:"),
            "{outcome:?}"
        );
        c.bench_function(&format!("scan and mask a {name} result"), |b| {
            b.iter(|| {
                let mut outcome = Outcome::default();
                black_box(redactor.redact(black_box(&input), &mut outcome).len())
            })
        });
    }
}

/// The same texts through the injection scanner: every rule runs, a few fire (the planted
/// e-mail and key lines are role-free, so the text is judged on its prose, paths and code).
fn injection_scans(c: &mut Criterion) {
    let scanner = InjectionScanner::new(Settings {
        allowed_hosts: vec!["docs.example.com".into()],
        ..Settings::default()
    })
    .unwrap();
    for (name, bytes) in [("4 KiB", 4 << 10), ("256 KiB", 256 << 10)] {
        let mut input = text(bytes, 20);
        input.truncate(bytes - 64);
        input.push_str("\nSee ![chart](https://docs.example.com/c.png) for details.\n");
        assert_eq!(scanner.scan(&input).verdict, Verdict::Clean);
        c.bench_function(&format!("injection scan of a {name} result"), |b| {
            b.iter(|| black_box(scanner.scan(black_box(&input)).score))
        });
    }
    // The load generator's echo text: one unbroken 1 KiB word, the shape that once cost four
    // times prose (an unbounded run pattern in the automaton).
    let mut word = String::from("c0-r12-");
    word.extend((0..1017u32).map(|i| char::from(b'a' + (i % 26) as u8)));
    c.bench_function("injection scan of a 1 KiB unbroken word", |b| {
        b.iter(|| black_box(scanner.scan(black_box(&word)).score))
    });
}

/// A typical tool call checked against its `inputSchema`, the schema compiled once (as the
/// gateway's cache does): a file tool's path, limits, flags and a nested options object.
fn schema_validation(c: &mut Criterion) {
    let schema = ArgumentSchema::compile(&serde_json::json!({
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1, "maxLength": 4096},
            "encoding": {"enum": ["utf-8", "latin-1", "base64"]},
            "head": {"type": "integer", "minimum": 1, "maximum": 100000},
            "tail": {"type": "integer", "minimum": 1},
            "follow_symlinks": {"type": "boolean"},
            "options": {
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "pattern": "^[A-Za-z0-9_*.?-]+$"},
                    "exclude": {"type": "array", "items": {"type": "string"}, "maxItems": 50}
                }
            }
        },
        "required": ["path"],
        "additionalProperties": false
    }))
    .unwrap();
    let call = serde_json::json!({
        "path": "/srv/data/reports/2026/q3/summary.md",
        "encoding": "utf-8",
        "head": 200,
        "follow_symlinks": false,
        "options": {"pattern": "*.md", "exclude": ["drafts", "archive", ".git"]}
    });
    assert!(schema.check(&call, true).is_empty());
    c.bench_function("schema validation of a typical call (strict)", |b| {
        b.iter(|| black_box(schema.check(black_box(&call), true).len()))
    });
    let limits = ArgumentLimits::default();
    c.bench_function("argument limits of a typical call", |b| {
        b.iter(|| black_box(limits.check(black_box(&call)).is_ok()))
    });
}

criterion_group!(benches, scans, injection_scans, schema_validation);
criterion_main!(benches);
