//! Upstream servers that crash, hang, answer out of order or never start: the client gets a
//! JSON-RPC error that names the server, and the other upstreams of the same moat keep working.
//! The misbehaving servers are tests/fixtures/misbehaving_server.py.

mod common;

use std::time::{Duration, Instant};

use common::http::{RawSession, tool_text};
use common::{Moat, TempDir, fixture};
use serde_json::{Value, json};

const V: &str = "2025-11-25";

/// A config with the built-in fixture as `fx` and the misbehaving server in `mode` as `name`.
fn config(name: &str, mode: &str, extra: &str) -> String {
    let script = fixture("misbehaving_server.py");
    format!(
        "upstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n  {name}:\n    approval: auto\n    stdio:\n      command: python3\n      args: [{script:?}, {mode}]\n{extra}",
        script = script.display().to_string()
    )
}

/// The error of a JSON-RPC response, which must be one.
fn error_of(answer: &Value) -> (i64, String) {
    let code = answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {answer}"));
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    (code, message.to_owned())
}

async fn assert_fixture_works(session: &RawSession) {
    let answer = session
        .call_tool("fx__echo", json!({"text": "still here"}))
        .await;
    assert_eq!(tool_text(&answer), "still here", "{answer}");
}

#[tokio::test]
async fn a_server_that_crashes_mid_call_is_named_and_the_others_keep_working() {
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &config("crashy", "crash", ""));
    let session = RawSession::open(&moat.url, V).await;
    let tools = session.tool_names().await;
    assert!(tools.contains(&"crashy__crash".to_owned()), "{tools:?}");

    let answer = session.call_tool("crashy__crash", json!({})).await;
    let (code, message) = error_of(&answer);
    assert!(message.contains("crashy"), "{answer}");
    assert_ne!(code, -32602, "a crash is not the client's fault: {answer}");
    assert_eq!(answer["error"]["data"]["server"], "crashy", "{answer}");

    assert_fixture_works(&session).await;
    // A new session gets the surviving server too.
    let again = RawSession::open(&moat.url, V).await;
    assert_fixture_works(&again).await;
}

/// After a crash the server is started again (after a short backoff) on the next use, and its
/// tools come back into the session's lists.
#[tokio::test]
async fn a_crashed_server_is_restarted_on_next_use() {
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &config("crashy", "crash", ""));
    let session = RawSession::open(&moat.url, V).await;
    let _ = session.call_tool("crashy__crash", json!({})).await;
    moat.wait_for_log("upstream down");
    // Within the backoff the server stays out of the lists; past it, a list restarts it. The
    // backoff is a timer, so poll (bounded) rather than guess its length.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let tools = session.tool_names().await;
        if tools.contains(&"crashy__crash".to_owned()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "crashy never came back: {tools:?}\n{}",
            moat.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The catalog's watcher runs one crashy of its own; the session's was started twice.
    assert_eq!(
        moat.log()
            .matches("started stdio server server=crashy")
            .count(),
        3,
        "crashy once for the catalog, twice for the session:\n{}",
        moat.log()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_its_name() {
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &config("hangy", "hang", "    timeout: 1s\n"));
    let session = RawSession::open(&moat.url, V).await;

    let started = Instant::now();
    let answer = session.call_tool("hangy__hang", json!({})).await;
    let took = started.elapsed();
    let (_, message) = error_of(&answer);
    assert!(message.contains("hangy"), "{answer}");
    assert!(message.contains("1s"), "the timeout is named: {answer}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(15),
        "answered after {took:?}"
    );
    assert_fixture_works(&session).await;
}

#[tokio::test]
async fn answers_out_of_order_reach_the_right_callers() {
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &config("ooo", "reorder", ""));
    let session = RawSession::open(&moat.url, V).await;
    // The server holds the first call until the second is in, then answers the second first.
    let (first, second) = tokio::join!(
        session.call_tool("ooo__reorder", json!({"tag": "first"})),
        session.call_tool("ooo__reorder", json!({"tag": "second"})),
    );
    assert_eq!(tool_text(&first), "tag=first", "{first}");
    assert_eq!(tool_text(&second), "tag=second", "{second}");
    // And again, on the same connection.
    let (third, fourth) = tokio::join!(
        session.call_tool("ooo__reorder", json!({"tag": "third"})),
        session.call_tool("ooo__reorder", json!({"tag": "fourth"})),
    );
    assert_eq!(tool_text(&third), "tag=third", "{third}");
    assert_eq!(tool_text(&fourth), "tag=fourth", "{fourth}");
}

#[tokio::test]
async fn a_server_that_cannot_start_leaves_the_others_serving() {
    let dir = TempDir::new();
    let moat = Moat::with_config(
        &dir,
        "upstreams:\n  ghost:\n    approval: auto\n    stdio:\n      command: /nonexistent/moat-test-no-such-server\n  fx:\n    approval: auto\n    builtin: fixture\n",
    );
    let session = RawSession::open(&moat.url, V).await;
    let tools = session.tool_names().await;
    assert!(tools.contains(&"fx__echo".to_owned()), "{tools:?}");
    assert!(tools.iter().all(|t| !t.starts_with("ghost__")), "{tools:?}");
    assert_fixture_works(&session).await;

    let answer = session.call_tool("ghost__anything", json!({})).await;
    let (_, message) = error_of(&answer);
    assert!(message.contains("ghost"), "{answer}");
}

/// The server is named as configured, the way a person writes it: `upstream "crashy": …`.
#[tokio::test]
async fn upstream_errors_quote_the_server_name_plainly() {
    let dir = TempDir::new();
    let moat = Moat::with_config(&dir, &config("crashy", "crash", ""));
    let session = RawSession::open(&moat.url, V).await;
    let answer = session.call_tool("crashy__crash", json!({})).await;
    let (_, message) = error_of(&answer);
    assert!(message.starts_with("upstream \"crashy\": "), "{message:?}");
}
