//! A stdio server starts with a cleared environment: only the allowlisted variables of moat's own
//! environment, plus the ones configured for it (literal or `env:`/`file:` references). Nothing
//! else of moat's environment (where its own secrets live) reaches it.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::http::{RawSession, tool_text};
use common::{Moat, TempDir, fixture};
use serde_json::json;

/// The interpreter itself, not a version-manager shim (a shim is a script that adds variables of
/// its own before the server starts).
fn real_python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8 path")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn stdio_servers_see_only_allowlisted_and_configured_variables() {
    let dir = TempDir::new();
    let python = real_python();
    let secret_file = dir.write("token", "from-a-file\n");
    let (_moat, port) = Moat::config_for_port(
        &dir,
        "moat listening on http://",
        &[
            ("MOAT_TEST_GRANTED", "granted-secret"),
            ("MOAT_TEST_PRIVATE", "must-not-leak"),
        ],
        |port| {
            let yaml = format!(
                "listen: 127.0.0.1:{port}\nupstreams:\n  env:\n    approval: auto\n    stdio:\n      command: {python}\n      args: [{script}]\n      env:\n        API_TOKEN: env:MOAT_TEST_GRANTED\n        FILE_TOKEN: file:{file}\n        LEVEL: debug\n",
                script = fixture("env_server.py").display(),
                file = secret_file.display()
            );
            yaml
        },
    );
    let session = RawSession::open(&format!("http://127.0.0.1:{port}/mcp"), "2025-11-25").await;
    let answer = session.call_tool("env__environment", json!({})).await;
    let env: BTreeMap<String, String> =
        serde_json::from_str(&tool_text(&answer)).expect("environment as JSON");
    assert_eq!(
        env.get("API_TOKEN").map(String::as_str),
        Some("granted-secret"),
        "{env:?}"
    );
    assert_eq!(
        env.get("FILE_TOKEN").map(String::as_str),
        Some("from-a-file"),
        "{env:?}"
    );
    assert_eq!(
        env.get("LEVEL").map(String::as_str),
        Some("debug"),
        "{env:?}"
    );
    assert!(env.contains_key("PATH"), "PATH is allowlisted: {env:?}");
    assert!(
        !env.contains_key("MOAT_TEST_PRIVATE"),
        "moat's own environment leaked: {env:?}"
    );
    assert!(
        !env.contains_key("MOAT_TEST_GRANTED"),
        "only under its configured name: {env:?}"
    );
    // Python may add a few of its own (e.g. LC_CTYPE); nothing beyond those and ours.
    let ours = [
        "API_TOKEN",
        "FILE_TOKEN",
        "LEVEL",
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TZ",
        "TMPDIR",
        "USER",
        "LC_CTYPE",
    ];
    let extra: Vec<&String> = env.keys().filter(|k| !ours.contains(&k.as_str())).collect();
    assert!(extra.is_empty(), "unexpected variables: {extra:?}");
}
