//! `moat check` accepts the bundled default and every example config, and rejects a broken file
//! with a non-zero exit and a `file:line: field: problem` message.

mod common;

use std::process::{Command, Output};

use common::{TempDir, moat_bin, repo_root};

fn check(args: &[&str]) -> Output {
    Command::new(moat_bin())
        .current_dir(repo_root())
        .arg("check")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run moat check")
}

fn assert_ok(args: &[&str], upstreams: usize) {
    let out = check(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "moat check {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("ok: {upstreams} upstream(s)")),
        "moat check {args:?}: {stdout}"
    );
}

#[test]
fn the_bundled_default_checks() {
    assert_ok(&[], 1);
    assert_ok(&["config/moat.yaml"], 1);
}

#[test]
fn every_example_config_checks() {
    let examples = repo_root().join("config/examples");
    let mut names: Vec<String> = std::fs::read_dir(&examples)
        .expect("config/examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "built-in-auth.yaml",
            "everything.yaml",
            "federation.yaml",
            "filesystem.yaml",
            "policy.yaml",
            "time.yaml"
        ]
    );
    for name in &names {
        let upstreams = if name == "federation.yaml" { 3 } else { 1 };
        assert_ok(&[&format!("config/examples/{name}")], upstreams);
    }
}

#[test]
fn example_configs_pin_their_servers() {
    for name in ["everything", "federation", "filesystem", "time"] {
        let path = repo_root().join(format!("config/examples/{name}.yaml"));
        let text = std::fs::read_to_string(&path).expect("read example");
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            assert!(
                !line.contains("npx") && !line.contains("uvx") && !line.contains("@latest"),
                "{name}.yaml runs an unpinned server: {line}"
            );
        }
    }
}

#[test]
fn a_broken_config_fails_with_file_and_line() {
    let dir = TempDir::new();
    let file = dir.write(
        "broken.yaml",
        "listen: 127.0.0.1:8940\nupstreams:\n  demo:\n    stdio:\n      command: \"\"\n",
    );
    let out = check(&[file.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken config passed: {stderr}");
    let expected = format!("{}:5: upstreams.demo.stdio.command:", file.display());
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in {stderr}"
    );

    let file = dir.write("typo.yaml", "listen: 127.0.0.1:8940\nupstreamz: {}\n");
    let out = check(&[file.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unknown field passed: {stderr}");
    assert!(
        stderr.contains(&format!("{}:2", file.display())),
        "no file:line in {stderr}"
    );
}

/// A floating launcher is refused where it is written; an image pinned by tag only loads with a
/// warning.
#[test]
fn floating_launchers_fail_the_check_and_tags_are_warned_about() {
    let dir = TempDir::new();
    let file = dir.write(
        "floating.yaml",
        "upstreams:\n  everything:\n    stdio:\n      command: npx\n      args: [-y, \"@modelcontextprotocol/server-everything\"]\n",
    );
    let out = check(&[file.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a floating launcher passed: {stderr}"
    );
    let expected = format!(
        "{}:5: upstreams.everything.stdio.args: npx runs \"@modelcontextprotocol/server-everything\": no version;",
        file.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in {stderr}"
    );

    let file = dir.write(
        "tagged.yaml",
        "upstreams:\n  time:\n    stdio:\n      command: docker\n      args: [run, -i, --rm, \"mcp/time:1.2\"]\n",
    );
    let out = check(&[file.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: upstream \"time\": docker run runs \"mcp/time:1.2\" pinned by its tag"
        ),
        "{stderr}"
    );
}

/// Broad scopes need a reason to load, and `moat check` still warns about each; grants made with
/// `moat agents register` are held to the dictionary.
#[test]
fn the_scope_dictionary_is_enforced_and_broad_scopes_are_warned_about() {
    let dir = common::TempDir::new();
    let unexplained = dir.write("bad.yaml", "scopes:\n  orders:read: {description: Read orders}\n  \"orders:*\": {description: All orders}\n");
    let out = check(&[unexplained.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:3: scopes.orders:*: is a wildcard scope"),
        "{stderr}"
    );

    let yaml = format!(
        "store: sqlite://{}\nscopes:\n  orders:read: {{description: Read orders}}\n  \"orders:*\":\n    description: All orders\n    broad_because: the ops console reconciles everything\n",
        dir.path().join("moat.db").display()
    );
    let config = dir.write("moat.yaml", &yaml);
    let config = config.to_str().expect("path");
    let out = check(&[config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: scope \"orders:*\" is broad")
            && stderr.contains("the ops console"),
        "{stderr}"
    );

    let register = |scope: &str| {
        std::process::Command::new(common::moat_bin())
            .args([
                "agents", "--config", config, "register", "bot", "--name", "Bot", "--scope", scope,
            ])
            .output()
            .expect("run moat agents")
    };
    let refused = register("orders:write");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("not in the config's scope dictionary: orders:write")
    );
    let granted = register("orders:read");
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert!(String::from_utf8_lossy(&granted.stdout).contains("orders:read"));
}

/// `moat check` shows what the guard does with each class, defaults and settings together.
#[test]
fn the_guard_actions_are_shown() {
    let out = check(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("aws_key=mask") && stdout.contains("email=log"),
        "{stdout}"
    );
    let dir = TempDir::new();
    let config = dir.write(
        "guard.yaml",
        "guard:\n  pii:\n    actions: {email: mask}\n    custom:\n      employee_id: {pattern: 'EMP-[0-9]{6}', action: partial}\n",
    );
    let out = check(&[config.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("email=mask") && stdout.contains("employee_id=partial"),
        "{stdout}"
    );
}

/// `moat check` shows the request-side guards and the limits, defaults filled in.
#[test]
fn argument_guards_egress_and_limits_are_shown() {
    let out = check(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("guard: injection: annotate at score 100"),
        "{stdout}"
    );
    assert!(
        stdout.contains("schema=enforce, strict for no tool; depth <= 64"),
        "{stdout}"
    );
    assert!(
        stdout.contains("guard: egress: schemes http,https"),
        "{stdout}"
    );
    let dir = TempDir::new();
    let config = dir.write(
        "limits.yaml",
        "guard:\n  schema: log\n  strict: [\"fs/*\"]\n  injection: {action: block, threshold: 130}\n  tools:\n    \"fs/*\": {pii: {email: mask}, injection: off}\n  egress:\n    allowed_networks: [10.1.0.0/16]\n    domains: {\"web/fetch\": [\"*.example.com\"]}\nlimits:\n  rates:\n    calls: {per: [agent, tool], rate: 5/s, burst: 10}\n",
    );
    let out = check(&[config.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for expected in [
        "guard: injection: block at score 130",
        "guard: for tool fs/*: email=mask, injection=off",
        "schema=log, strict for fs/*",
        "private networks allowed: 10.1.0.0/16, domain allowlists: web/fetch -> *.example.com",
        "limits: rate \"calls\": 5 per 1s (burst 10) per agent+tool for every request",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in {stdout}");
    }
    let bad = dir.write(
        "bad.yaml",
        "guard:\n  egress:\n    allowed_networks: [10.0.0.1/8]\n",
    );
    let out = check(&[bad.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a host-bits network must be refused");
    assert!(
        stderr.contains("bad.yaml") && stderr.contains("guard.egress"),
        "{stderr}"
    );
}
