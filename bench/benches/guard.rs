//! PII and secret detection (`moat_guard`): one scan-and-mask of a typical 4 KiB tool result
//! and of a 256 KiB one, each with a few planted findings among ordinary text; and one
//! prompt-injection scan of the same texts.

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use moat_guard::injection::{Settings, Verdict};
use moat_guard::{Detector, InjectionScanner, Outcome, Redactor};

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
}

criterion_group!(benches, scans, injection_scans);
criterion_main!(benches);
