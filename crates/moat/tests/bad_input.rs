//! What moat answers to malformed or out-of-place input, through the real binary: the HTTP status
//! and the JSON-RPC error code for each kind of mistake.

mod common;

use common::http::{RawSession, delete, initialize, post, request};
use common::{Moat, TempDir};
use serde_json::{Value, json};

const V: &str = "2025-11-25";

/// Two upstreams, so that a method moat does not know is not simply forwarded to the only one.
fn two_fixtures() -> Moat {
    Moat::serve(&[
        "--upstream",
        "a=builtin:fixture",
        "--upstream",
        "b=builtin:fixture",
    ])
}

#[tokio::test]
async fn non_json_body_is_a_400_parse_error() {
    let moat = two_fixtures();
    let reply = post(&moat.url, &[], "this is {not json").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_code(), -32700, "{reply:?}");
    assert_eq!(reply.json()["id"], Value::Null);
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_400_invalid_request() {
    let moat = two_fixtures();
    for body in [
        json!({"jsonrpc": "2.0", "foo": 1}),
        json!(42),
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
    ] {
        let reply = post(&moat.url, &[], body.to_string()).await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.error_code(), -32600, "{body}: {reply:?}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let dir = TempDir::new();
    let moat = Moat::with_config(
        &dir,
        "max_body_bytes: 512\nupstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n",
    );
    let mut big = initialize(V);
    big["params"]["clientInfo"]["name"] = json!("x".repeat(1024));
    let reply = post(&moat.url, &[], big.to_string()).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    // The same request under the limit is accepted.
    let reply = post(&moat.url, &[], initialize(V).to_string()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn an_unknown_method_is_method_not_found() {
    let moat = two_fixtures();
    let session = RawSession::open(&moat.url, V).await;
    let answer = session.call("no/such/method", json!({})).await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
}

#[tokio::test]
async fn an_unknown_tool_is_invalid_params() {
    let moat = two_fixtures();
    let session = RawSession::open(&moat.url, V).await;
    for name in ["zz__echo", "echo", "a"] {
        let answer = session.call_tool(name, json!({"text": "hi"})).await;
        assert_eq!(answer["error"]["code"], -32602, "{name}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(name), "{name}: {answer}");
    }
}

#[tokio::test]
async fn a_request_without_a_session_id_is_400() {
    let moat = two_fixtures();
    let reply = post(&moat.url, &[], request("tools/list", json!({})).to_string()).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_code(), -32600, "{reply:?}");
}

#[tokio::test]
async fn an_unknown_session_is_404() {
    let moat = two_fixtures();
    let headers = [("mcp-session-id", "00000000000000000000000000000000")];
    let reply = post(&moat.url, &headers, request("ping", json!({})).to_string()).await;
    assert_eq!(reply.status, 404, "{reply:?}");
}

#[tokio::test]
async fn a_session_is_gone_after_delete() {
    let moat = two_fixtures();
    let session = RawSession::open(&moat.url, V).await;
    assert_eq!(session.call("ping", json!({})).await["result"], json!({}));
    assert_eq!(delete(&moat.url, &session.headers()).await, 200);
    let reply = session.post(&request("ping", json!({}))).await;
    assert_eq!(reply.status, 404, "{reply:?}");
    assert_eq!(delete(&moat.url, &session.headers()).await, 404);
}

#[tokio::test]
async fn an_unsupported_protocol_version_header_is_400() {
    let moat = two_fixtures();
    let headers = [("mcp-protocol-version", "2099-01-01")];
    let reply = post(&moat.url, &headers, initialize(V).to_string()).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.text.contains("2099-01-01"), "{reply:?}");
    let session = RawSession::open(&moat.url, V).await;
    let headers = [
        ("mcp-session-id", session.id.as_str()),
        ("mcp-protocol-version", "2099-01-01"),
    ];
    let reply = post(&moat.url, &headers, request("ping", json!({})).to_string()).await;
    assert_eq!(reply.status, 400, "{reply:?}");
}

#[tokio::test]
async fn a_foreign_origin_is_403_and_a_local_one_is_served() {
    let moat = two_fixtures();
    let reply = post(
        &moat.url,
        &[("origin", "http://evil.example")],
        initialize(V).to_string(),
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert!(reply.session.is_none());
    let local = format!("http://localhost:{}", moat.port);
    let reply = post(&moat.url, &[("origin", &local)], initialize(V).to_string()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn batches_work_on_2025_03_26_and_are_refused_on_2025_11_25() {
    let moat = two_fixtures();
    let old = RawSession::open(&moat.url, "2025-03-26").await;
    let (ping, list) = (request("ping", json!({})), request("tools/list", json!({})));
    let reply = old.post(&json!([ping, list])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let answers = reply.json().as_array().expect("a batch answer is an array");
    assert_eq!(answers.len(), 2, "{reply:?}");
    let by_id = |id: &Value| {
        answers
            .iter()
            .find(|a| a["id"] == *id)
            .unwrap_or_else(|| panic!("no answer for id {id}: {reply:?}"))
    };
    assert_eq!(by_id(&ping["id"])["result"], json!({}));
    let tools = by_id(&list["id"])["result"]["tools"]
        .as_array()
        .expect("tools/list result");
    assert!(tools.iter().any(|t| t["name"] == "a__echo"), "{tools:?}");

    let new = RawSession::open(&moat.url, V).await;
    let reply = new
        .post(&json!([
            request("ping", json!({})),
            request("ping", json!({}))
        ]))
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_code(), -32600, "{reply:?}");
}
