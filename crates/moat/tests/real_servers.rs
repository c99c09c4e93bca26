//! moat in front of real MCP servers from the registries (tests/servers/install.sh installs them):
//! server-everything over stdio and over Streamable HTTP, server-filesystem and mcp-server-time,
//! called through one moat by the Rust SDK (rmcp) and by the official Python SDK.

mod common;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::servers::{Installed, installed, s};
use common::{Moat, Process, TIMEOUT, TempDir, client, fixture};
use serde_json::{Value, json};

/// server-everything in Streamable HTTP mode on a free port; returns it and its MCP URL.
fn everything_http(servers: &Installed) -> (Process, String) {
    let (process, port) = Process::start_on_free_port(
        "server-everything (streamableHttp)",
        "listening on port",
        &["already in use", "EADDRINUSE"],
        |port| {
            let mut cmd = Command::new(&servers.node);
            cmd.arg(&servers.everything)
                .arg("streamableHttp")
                .env("PORT", port.to_string());
            cmd
        },
    );
    (process, format!("http://127.0.0.1:{port}/mcp"))
}

/// One moat federating all four servers; the filesystem server may read `files`.
fn federation_config(servers: &Installed, everything_url: &str, files: &TempDir) -> String {
    format!(
        r#"upstreams:
  ev:
    approval: auto
    stdio:
      command: {node:?}
      args: [{everything:?}, stdio]
  evh:
    approval: auto
    http:
      url: {everything_url}
  fs:
    approval: auto
    stdio:
      command: {node:?}
      args: [{filesystem:?}, {files:?}]
  time:
    approval: auto
    stdio:
      command: {time:?}
      args: [--local-timezone, UTC]
"#,
        node = s(&servers.node),
        everything = s(&servers.everything),
        filesystem = s(&servers.filesystem),
        files = s(files.path()),
        time = s(&servers.time),
    )
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, proleptic Gregorian).
fn utc_date(at: SystemTime) -> String {
    let days = at.duration_since(UNIX_EPOCH).expect("after 1970").as_secs() / 86_400;
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[tokio::test]
async fn rmcp_client_calls_four_real_servers_through_one_moat() {
    let servers = installed();
    let (_everything, everything_url) = everything_http(&servers);
    let files = TempDir::new();
    files.write("hello.txt", "hello from moat\n");
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &federation_config(&servers, &everything_url, &files));

    let client = client::connect(&moat.url).await;
    let tools = client::tool_names(&client).await;
    for name in [
        "ev__echo",
        "evh__echo",
        "ev__get-sum",
        "fs__list_directory",
        "fs__read_text_file",
        "time__get_current_time",
        "time__convert_time",
    ] {
        assert!(tools.iter().any(|t| t == name), "{name} missing: {tools:?}");
    }
    assert!(
        tools.iter().all(|t| ["ev__", "evh__", "fs__", "time__"]
            .iter()
            .any(|p| t.starts_with(p))),
        "every tool is prefixed with its server: {tools:?}"
    );

    for server in ["ev", "evh"] {
        let text = client::text(
            &client::call(
                &client,
                &format!("{server}__echo"),
                json!({"message": "hi moat"}),
            )
            .await,
        );
        assert!(text.contains("hi moat"), "{server}: {text}");
    }

    let listing = client::text(
        &client::call(
            &client,
            "fs__list_directory",
            json!({"path": s(files.path())}),
        )
        .await,
    );
    assert!(listing.contains("[FILE] hello.txt"), "{listing}");
    let hello = files.path().join("hello.txt");
    let contents = client::text(
        &client::call(&client, "fs__read_text_file", json!({"path": s(&hello)})).await,
    );
    assert_eq!(contents.trim_end(), "hello from moat");
    let outside = client::call(
        &client,
        "fs__read_text_file",
        json!({"path": "/etc/passwd"}),
    )
    .await;
    assert_eq!(outside.is_error, Some(true), "{outside:?}");

    let before = utc_date(SystemTime::now());
    let now = client::text(
        &client::call(
            &client,
            "time__get_current_time",
            json!({"timezone": "UTC"}),
        )
        .await,
    );
    let after = utc_date(SystemTime::now());
    let now: Value = serde_json::from_str(&now).unwrap_or_else(|e| panic!("{e}: {now}"));
    assert_eq!(now["timezone"], "UTC", "{now}");
    let datetime = now["datetime"].as_str().unwrap_or_default();
    assert!(
        datetime.starts_with(&before) || datetime.starts_with(&after),
        "{datetime} is not today ({before})"
    );

    let _ = client.cancel().await;
}

#[tokio::test]
async fn python_sdk_client_calls_real_servers_through_moat() {
    let servers = installed();
    let dir = TempDir::new();
    let moat = Moat::with_config(
        &dir,
        &format!(
            "upstreams:\n  ev:\n    approval: auto\n    stdio:\n      command: {node:?}\n      args: [{everything:?}, stdio]\n  time:\n    approval: auto\n    stdio:\n      command: {time:?}\n      args: [--local-timezone, UTC]\n",
            node = s(&servers.node),
            everything = s(&servers.everything),
            time = s(&servers.time),
        ),
    );
    let run = |tool: &str, arguments: Value| {
        let mut cmd = tokio::process::Command::new(&servers.python);
        cmd.arg(fixture("python_sdk_client.py"))
            .arg(&moat.url)
            .arg(tool)
            .arg(arguments.to_string())
            .kill_on_drop(true);
        async move {
            let out = tokio::time::timeout(TIMEOUT, cmd.output())
                .await
                .expect("the Python client finished in time")
                .expect("run the Python client");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "python client failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str::<Value>(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
        }
    };

    let seen = run("ev__echo", json!({"message": "from python"})).await;
    assert_eq!(seen["protocolVersion"], "2025-11-25", "{seen}");
    assert_eq!(seen["serverName"], "moat", "{seen}");
    let tools = seen["tools"].as_array().expect("tool names");
    assert!(tools.contains(&json!("ev__echo")), "{seen}");
    assert!(tools.contains(&json!("time__get_current_time")), "{seen}");
    assert_eq!(seen["isError"], false, "{seen}");
    assert!(
        seen["text"][0]
            .as_str()
            .unwrap_or_default()
            .contains("from python"),
        "{seen}"
    );

    let seen = run("time__get_current_time", json!({"timezone": "UTC"})).await;
    assert_eq!(seen["isError"], false, "{seen}");
    assert!(
        seen["text"][0]
            .as_str()
            .unwrap_or_default()
            .contains("\"UTC\""),
        "{seen}"
    );
}

/// config/examples/federation.yaml, run as the README says (from the repository root), serves
/// the tools of all three servers it names.
#[tokio::test]
async fn the_federation_example_serves_all_three_servers() {
    installed();
    let moat = Moat::serve(&["--config", "config/examples/federation.yaml"]);
    let client = client::connect(&moat.url).await;
    let tools = client::tool_names(&client).await;
    for name in [
        "everything__echo",
        "filesystem__list_directory",
        "time__get_current_time",
    ] {
        assert!(tools.iter().any(|t| t == name), "{name} missing: {tools:?}");
    }
    let text = client::text(
        &client::call(
            &client,
            "filesystem__read_text_file",
            json!({"path": "config/moat.yaml"}),
        )
        .await,
    );
    assert!(text.contains("builtin: fixture"), "{text}");
    let _ = client.cancel().await;
}
