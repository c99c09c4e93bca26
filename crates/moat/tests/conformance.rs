//! The official MCP conformance suite (tests/conformance/run.sh, requirement set 2025-11-25) run
//! three ways: against the fixture directly, through moat with the fixture as a Streamable HTTP
//! upstream, and through moat with the fixture as a stdio upstream (`builtin:fixture`). Each run
//! must fail nothing, and every check that passes directly must pass through moat too.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{Moat, Process, TempDir, moat_bin, repo_root};
use serde_json::Value;

const REQUIREMENTS: &str = "2025-11-25";

/// Statuses seen for each check, by (scenario, check id).
type Checks = BTreeMap<(String, String), BTreeSet<String>>;

/// Runs the suite against `url`, asserts it failed nothing, and returns its checks.
fn run_suite(label: &str, url: &str, out: &Path) -> Checks {
    let output = Command::new("bash")
        .arg(repo_root().join("tests/conformance/run.sh"))
        .arg(url)
        .arg(REQUIREMENTS)
        .arg(out)
        .output()
        .expect("run tests/conformance/run.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tally = stdout
        .lines()
        .rfind(|l| l.starts_with("conformance: "))
        .unwrap_or_else(|| panic!("{label}: no tally line:\n{stdout}\n{stderr}"));
    assert!(
        output.status.success() && tally.ends_with(" 0 failed"),
        "{label}: {tally} (exit {}):\n{stdout}\n{stderr}",
        output.status
    );
    let checks = read_checks(out);
    assert!(
        checks.values().any(|s| s.contains("SUCCESS")),
        "{label}: no check passed"
    );
    checks
}

/// Reads every `<scenario>-<timestamp>/checks.json` under `out`.
fn read_checks(out: &Path) -> Checks {
    let mut checks = Checks::new();
    for entry in std::fs::read_dir(out).expect("conformance output dir") {
        let path = entry.expect("dir entry").path();
        let file = path.join("checks.json");
        if !file.exists() {
            continue;
        }
        let dir = path.file_name().expect("name").to_string_lossy();
        let scenario = strip_timestamp(&dir);
        let text = std::fs::read_to_string(&file).expect("read checks.json");
        let list: Vec<Value> = serde_json::from_str(&text).expect("checks.json is a JSON array");
        for check in list {
            let id = check["id"].as_str().expect("check id").to_owned();
            let status = check["status"].as_str().expect("check status").to_owned();
            checks
                .entry((scenario.clone(), id))
                .or_default()
                .insert(status);
        }
    }
    assert!(!checks.is_empty(), "no checks.json under {}", out.display());
    checks
}

/// `server-ping-2026-11-27T03-46-48-790Z` → `server-ping`.
fn strip_timestamp(dir: &str) -> String {
    const SHAPE: &str = "-dddd-dd-ddTdd-dd-dd-dddZ";
    let split = dir.len().checked_sub(SHAPE.len());
    let suffix_ok = split.is_some_and(|at| {
        dir.is_char_boundary(at)
            && dir[at..]
                .chars()
                .zip(SHAPE.chars())
                .all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s })
    });
    match split {
        Some(at) if suffix_ok => dir[..at].to_owned(),
        _ => panic!("{dir:?} does not end in a run timestamp"),
    }
}

/// Checks that pass against the fixture directly but not through moat. The fixture answers every
/// POST with an SSE stream (priming event with an id and `retry`, then the response); moat answers
/// with plain JSON when the response is all there is, which the spec allows, so these SSE-only
/// checks find nothing to check and report INFO ("not applicable") or nothing. Never FAILURE.
const KNOWN_GATEWAY_GAPS: [(&str, &str); 3] = [
    (
        "server-server-sse-multiple-streams",
        "server-sse-streams-functional",
    ),
    ("server-server-sse-polling", "server-sse-priming-event"),
    ("server-server-sse-polling", "server-sse-retry-field"),
];

/// The checks that passed directly but do not pass through moat (missing, or not SUCCESS, or
/// also FAILURE there).
fn regressions(direct: &Checks, proxied: &Checks) -> Vec<(String, String)> {
    direct
        .iter()
        .filter(|(_, s)| s.contains("SUCCESS"))
        .filter(|(key, _)| {
            proxied
                .get(*key)
                .is_none_or(|s| !s.contains("SUCCESS") || s.contains("FAILURE"))
        })
        .map(|(key, _)| key.clone())
        .collect()
}

fn describe(label: &str, lost: &[(String, String)], proxied: &Checks) -> String {
    let lines: Vec<String> = lost
        .iter()
        .map(|k| format!("{}: {} -> {:?}", k.0, k.1, proxied.get(k)))
        .collect();
    format!(
        "{label}: checks that pass directly but not through moat:\n{}",
        lines.join("\n")
    )
}

/// The three runs: directly, through moat over Streamable HTTP, through moat over stdio.
struct Runs {
    direct: Checks,
    proxied: Vec<(&'static str, Checks)>,
    _out: TempDir,
}

fn run_three_ways() -> Runs {
    let out = TempDir::new();
    let (fixture, port) = Process::start_on_free_port(
        "moat fixture",
        "listening on http://",
        &["cannot listen"],
        |port| {
            let mut cmd = Command::new(moat_bin());
            cmd.args(["fixture", "--listen", &format!("127.0.0.1:{port}")]);
            cmd
        },
    );
    let fixture_url = format!("http://127.0.0.1:{port}/mcp");
    let direct = run_suite("direct", &fixture_url, &out.path().join("direct"));

    let upstream = format!("fx={fixture_url}");
    let moat = Moat::serve(&["--upstream", &upstream, "--prefix", "conditional"]);
    let via_http = run_suite("moat -> http", &moat.url, &out.path().join("via-http"));
    drop((moat, fixture));

    let moat = Moat::serve(&[
        "--upstream",
        "fx=builtin:fixture",
        "--prefix",
        "conditional",
    ]);
    let via_stdio = run_suite("moat -> stdio", &moat.url, &out.path().join("via-stdio"));
    Runs {
        direct,
        proxied: vec![("moat -> http", via_http), ("moat -> stdio", via_stdio)],
        _out: out,
    }
}

/// No run fails a check, and every check that passes directly passes through moat, except the
/// known gaps (which must still not fail).
#[test]
fn conformance_2025_11_25_through_moat_fails_nothing_and_loses_no_check_beyond_known_gaps() {
    let runs = run_three_ways();
    for (label, proxied) in &runs.proxied {
        let lost: Vec<(String, String)> = regressions(&runs.direct, proxied)
            .into_iter()
            .filter(|(scenario, id)| {
                !KNOWN_GATEWAY_GAPS.contains(&(scenario.as_str(), id.as_str()))
            })
            .collect();
        assert!(lost.is_empty(), "{}", describe(label, &lost, proxied));
    }
}

/// The full promise: check by check, whatever passes directly passes through moat.
#[test]
#[ignore = "gateway gap: moat answers JSON where the fixture streams SSE, so 3 SSE-only checks \
            (priming event, retry field, SSE streams functional) pass directly but are INFO through \
            moat (KNOWN_GATEWAY_GAPS)"]
fn conformance_2025_11_25_every_direct_pass_passes_through_moat() {
    let runs = run_three_ways();
    for (label, proxied) in &runs.proxied {
        let lost = regressions(&runs.direct, proxied);
        assert!(lost.is_empty(), "{}", describe(label, &lost, proxied));
    }
}

#[test]
fn run_directories_are_named_by_scenario() {
    assert_eq!(
        strip_timestamp("server-ping-2026-11-27T03-46-48-790Z"),
        "server-ping"
    );
    assert!(std::panic::catch_unwind(|| strip_timestamp("server-ping")).is_err());
}
