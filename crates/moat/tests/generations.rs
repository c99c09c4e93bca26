//! Clients of both protocol generations through one moat, and what happens where the spec gives
//! no way across: a 2026-07-28 (stateless) client cannot reach a server that only speaks the
//! session-based revisions, and is told so by name.

mod common;

use common::http::post;
use common::{Moat, TempDir, fixture};
use serde_json::{Value, json};

const META: &str = "io.modelcontextprotocol/protocolVersion";

/// A stateless request with the routing headers a 2026-07-28 client sends.
async fn stateless(
    url: &str,
    id: i64,
    method: &str,
    mut params: Value,
    name: Option<&str>,
) -> (u16, Value) {
    params["_meta"] = json!({META: "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(n) = name {
        headers.push(("mcp-name", n));
    }
    let reply = post(url, &headers, body.to_string()).await;
    (reply.status, reply.json().clone())
}

fn federation(dir: &TempDir) -> Moat {
    let old = fixture("misbehaving_server.py");
    Moat::with_config(
        dir,
        &format!(
            "upstreams:\n  old:\n    approval: auto\n    stdio:\n      command: python3\n      args: [{}, reorder]\n  fx:\n    approval: auto\n    builtin: fixture\n",
            old.display()
        ),
    )
}

#[tokio::test]
async fn a_stateless_client_reaches_stateless_servers_and_is_told_why_not_the_others() {
    let dir = TempDir::new();
    let moat = federation(&dir);

    let (status, discover) = stateless(&moat.url, 1, "server/discover", json!({}), None).await;
    assert_eq!(status, 200, "{discover}");
    let result = &discover["result"];
    assert!(
        result["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28")),
        "{discover}"
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "moat"
    );

    let (_, list) = stateless(&moat.url, 2, "tools/list", json!({}), None).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"fx__echo"), "{names:?}");
    assert!(
        names.iter().all(|n| !n.starts_with("old__")),
        "a 2025-only server's tools must not be offered: {names:?}"
    );

    let (status, echo) = stateless(
        &moat.url,
        3,
        "tools/call",
        json!({"name": "fx__echo", "arguments": {"text": "hi"}}),
        Some("fx__echo"),
    )
    .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["result"]["content"][0]["text"], "hi", "{echo}");

    let (_, refused) = stateless(
        &moat.url,
        4,
        "tools/call",
        json!({"name": "old__reorder", "arguments": {}}),
        Some("old__reorder"),
    )
    .await;
    let message = refused["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {refused}"));
    assert!(
        message.contains("\"old\"") && message.contains("does not speak MCP 2026-07-28"),
        "{refused}"
    );
    assert_eq!(refused["id"], 4);
}

#[tokio::test]
async fn a_session_client_reaches_both_kinds_of_server() {
    let dir = TempDir::new();
    let moat = federation(&dir);
    let session = common::http::RawSession::open(&moat.url, "2025-11-25").await;
    let names = session.tool_names().await;
    assert!(
        names.contains(&"fx__echo".to_owned()) && names.contains(&"old__reorder".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn stateless_requests_whose_headers_disagree_with_the_body_are_refused() {
    let moat = Moat::serve(&["--upstream", "fx=builtin:fixture"]);
    // Mcp-Name says another tool than the body.
    let (status, answer) = stateless(
        &moat.url,
        7,
        "tools/call",
        json!({"name": "fx__echo", "arguments": {"text": "x"}}),
        Some("fx__other"),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "{answer}"
    );
    assert_eq!(answer["id"], 7);
    // A version moat does not speak, in header and _meta alike.
    let body = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list",
        "params": {"_meta": {META: "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let reply = post(
        &moat.url,
        &[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/list"),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (400, -32022),
        "{reply:?}"
    );
    assert_eq!(reply.json()["error"]["data"]["requested"], "2099-01-01");
    // Removed methods are not found.
    let (status, ping) = stateless(&moat.url, 9, "ping", json!({}), None).await;
    assert_eq!(
        (status, ping["error"]["code"].as_i64()),
        (404, Some(-32601)),
        "{ping}"
    );
}
