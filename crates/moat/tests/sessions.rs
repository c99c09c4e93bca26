//! Session lifetime: SSE streams resumed with Last-Event-ID, idle sessions ended, and the legacy
//! HTTP+SSE transport for old clients.

mod common;

use std::time::Instant;

use common::http::{ACCEPT_BOTH, RawSession, client, request};
use common::{Moat, TIMEOUT, TempDir};
use futures::StreamExt;
use serde_json::{Value, json};

/// Reads SSE events (id, data) from a response until `n` have arrived.
async fn events(resp: reqwest::Response, n: usize) -> Vec<(Option<String>, String)> {
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.next())
            .await
            .expect("events in time");
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk.expect("stream chunk")));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(str::to_owned);
            let data = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .collect::<String>();
            if !block.starts_with(':') {
                out.push((id, data));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_broken_stream_is_resumed_with_last_event_id() {
    let moat = Moat::serve(&["--upstream", "fx=builtin:fixture", "--prefix", "never"]);
    let session = RawSession::open(&moat.url, "2025-11-25").await;
    let call = request(
        "tools/call",
        json!({"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "p"}}),
    );
    let mut req = client()
        .post(&moat.url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json");
    for (k, v) in session.headers() {
        req = req.header(k, v);
    }
    let resp = req.body(call.to_string()).send().await.expect("POST");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The priming event (id, empty data), then the first progress notification; then the
    // connection breaks.
    let first = events(resp, 2).await;
    assert_eq!(first[0].1, "", "priming event first: {first:?}");
    let (Some(last_id), progress) = first[1].clone() else {
        panic!("events carry ids: {first:?}")
    };
    assert!(progress.contains("notifications/progress"), "{first:?}");

    let mut get = client()
        .get(&moat.url)
        .header("accept", "text/event-stream")
        .header("last-event-id", &last_id);
    for (k, v) in session.headers() {
        get = get.header(k, v);
    }
    let resumed = get.send().await.expect("GET with Last-Event-ID");
    assert_eq!(resumed.status(), 200);
    let rest = events(resumed, 3).await;
    let messages: Vec<Value> = rest
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("JSON event"))
        .collect();
    assert_eq!(messages.len(), 3, "{rest:?}");
    assert_eq!(
        messages[0]["method"], "notifications/progress",
        "nothing after the last seen event is lost: {messages:?}"
    );
    assert_eq!(
        messages[2]["id"], call["id"],
        "the answer comes last: {messages:?}"
    );
    assert_eq!(
        messages[2]["result"]["content"][0]["text"],
        "Progress test completed"
    );
}

#[tokio::test]
async fn idle_sessions_end_and_their_id_is_refused() {
    let dir = TempDir::new();
    let moat = Moat::with_config(
        &dir,
        "session_idle_timeout: 1s\nupstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n",
    );
    let session = RawSession::open(&moat.url, "2025-11-25").await;
    assert_eq!(session.call("ping", json!({})).await["result"], json!({}));
    // Any request would keep the session alive: wait (bounded) for moat to report the end.
    moat.wait_for_log("session ended after 1s idle");
    let reply = session.post(&request("ping", json!({}))).await;
    assert_eq!(reply.status, 404, "{reply:?}");
}

#[tokio::test]
async fn an_old_client_uses_the_legacy_sse_transport() {
    let moat = Moat::serve(&["--upstream", "fx=builtin:fixture", "--prefix", "never"]);
    let base = moat.url.trim_end_matches("/mcp").to_owned();
    let stream = client()
        .get(format!("{base}/sse"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(stream.status(), 200);
    let mut bytes = stream.bytes_stream();
    let mut text = String::new();
    let mut read_until = async |needle: &str, text: &mut String| {
        let deadline = Instant::now() + TIMEOUT;
        while !text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, bytes.next())
                .await
                .expect("in time")
                .expect("stream open");
            text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        }
    };
    read_until("\n\n", &mut text).await;
    let endpoint = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("endpoint event")
        .to_owned();
    assert!(text.starts_with("event: endpoint"), "{text}");
    let post = |body: Value| {
        let url = format!("{base}{endpoint}");
        async move {
            client()
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("POST")
                .status()
        }
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}}});
    assert_eq!(post(init).await, 202);
    read_until("\"id\":1", &mut text).await;
    assert!(
        text.contains("\"protocolVersion\":\"2024-11-05\""),
        "{text}"
    );
    assert_eq!(
        post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await,
        202
    );
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "over sse"}}});
    assert_eq!(post(call).await, 202);
    read_until("over sse", &mut text).await;
}
