//! `moat test`: the shipped example's golden cases pass through its real pipeline, a wrong
//! expectation fails the run, and `moat check` points at a broken Cedar rule.

mod common;

use std::process::{Command, Output};

use common::{TempDir, moat_bin, repo_root};

fn moat(args: &[&str]) -> Output {
    Command::new(moat_bin())
        .current_dir(repo_root())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run moat")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_shipped_cases_pass() {
    let out = moat(&["test", "config/examples/policy/cases.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("\n12 passed, 0 failed\n"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    let payload_cap = stdout
        .lines()
        .find(|l| l.starts_with("payload cap refuses 4 KiB"))
        .expect("the payload-cap case");
    assert!(payload_cap.contains("deny (payload-cap)"), "{payload_cap}");
    let held = stdout
        .lines()
        .find(|l| l.starts_with("a 2 KiB payload waits"))
        .expect("the approval case");
    assert!(
        held.contains("approval_required (") && held.contains("large-payload-approval"),
        "{held}"
    );
}

#[test]
fn a_wrong_expectation_fails_the_run() {
    let cases = std::fs::read_to_string(repo_root().join("config/examples/policy/cases.yaml"))
        .expect("cases");
    let config = repo_root().join("config/examples/policy.yaml");
    let wrong = cases
        .replace(
            "config: ../policy.yaml",
            &format!("config: {}", config.display()),
        )
        .replace(
            "arguments: {size: 4096}\n    expect: {outcome: deny, rule: payload-cap}",
            "arguments: {size: 4096}\n    expect: {outcome: allow}",
        );
    assert_ne!(wrong, cases);
    let dir = TempDir::new();
    let file = dir.write("cases.yaml", &wrong);
    let out = moat(&["test", file.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("\n11 passed, 1 failed\n"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("payload cap refuses 4 KiB"))
        .expect("the case");
    assert!(line.contains("MISMATCH: expected allow"), "{line}");
    assert!(text(&out).contains("1 case(s) did not turn out as expected"));
}

#[test]
fn a_broken_cedar_rule_is_reported_with_its_file_and_line() {
    let dir = TempDir::new();
    dir.write(
        "rules.cedar",
        "permit (principal, action, resource);\n\nforbid (principal, action, resource)\n  when { resource.colour == \"red\" };\n",
    );
    let config = dir.write(
        "moat.yaml",
        "upstreams:\n  demo:\n    approval: auto\n    builtin: fixture\npolicy:\n  cedar: [rules.cedar]\n",
    );
    let out = moat(&["check", config.to_str().expect("path")]);
    assert!(!out.status.success());
    let all = text(&out);
    assert!(all.contains("rules.cedar:4: invalid policy"), "{all}");
    assert!(all.contains("colour"), "{all}");
}
