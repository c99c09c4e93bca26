//! Human approval for MCP 2026-07-28 clients, which cannot be sent requests: moat answers a
//! held call with an `InputRequiredResult` asking `elicitation/create`, and the client retries
//! with the user's answer. Through the running gateway with moat's fixture server (a 2026-07-28
//! server), including a tool that itself asks for input in rounds.

mod common;

use common::http::post;
use common::tokens::{Key, access_token, key, serve_with_issuer};
use common::{Process, TempDir};
use serde_json::{Value, json};

const META: &str = "io.modelcontextprotocol/protocolVersion";
const CAPS: &str = "io.modelcontextprotocol/clientCapabilities";
const KEY: &str = "moat/approval";

struct Setup {
    _dir: TempDir,
    _moat: Process,
    url: String,
    token: String,
}

fn start() -> Setup {
    let dir = TempDir::new();
    let key: Key = key("k1");
    let store = format!("sqlite://{}", dir.path().join("moat.db").display());
    let (moat, port) = serve_with_issuer(&dir, &key, |_| {
        format!(
            r#"store: {store}
upstreams:
  fx:
    approval: auto
    builtin: fixture
policy:
  servers:
    fx:
      require_approval: always
"#
        )
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let token = access_token(&key, &url, "bot", "alice", "fx:read fx:write");
    Setup {
        _dir: dir,
        _moat: moat,
        url,
        token,
    }
}

impl Setup {
    /// A stateless `tools/call` of `tool` with `extra` params (inputResponses, requestState),
    /// from a client that declares form elicitation.
    async fn call(&self, id: i64, tool: &str, extra: Value) -> Value {
        let mut params = json!({"name": tool, "arguments": {}});
        if let Value::Object(extra) = extra {
            params.as_object_mut().expect("object").extend(extra);
        }
        params["_meta"] = json!({META: "2026-07-28", CAPS: {"elicitation": {}}});
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        let auth = format!("Bearer {}", self.token);
        let headers = [
            ("authorization", auth.as_str()),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ];
        let reply = post(&self.url, &headers, body.to_string()).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json().clone()
    }
}

/// moat's question in an `InputRequiredResult`, and the sealed state to send back.
fn moat_question(answer: &Value) -> (Value, String) {
    let result = &answer["result"];
    assert_eq!(result["resultType"], "input_required", "{answer}");
    let question = result["inputRequests"][KEY].clone();
    assert_eq!(question["method"], "elicitation/create", "{answer}");
    let state = result["requestState"].as_str().expect("requestState");
    assert!(state.starts_with("moat1."), "{state}");
    (question, state.to_owned())
}

fn accept() -> Value {
    json!({"action": "accept", "content": {"remember_hours": 0}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_client_is_asked_with_an_input_required_result() {
    let setup = start();
    let first = setup.call(1, "fx__test_simple_text", json!({})).await;
    let (question, state) = moat_question(&first);
    let message = question["params"]["message"].as_str().expect("message");
    assert!(
        message.contains("fx/test_simple_text") && message.contains("\"bot\""),
        "{message}"
    );

    let retry = json!({"inputResponses": {KEY: accept()}, "requestState": state});
    let done = setup.call(2, "fx__test_simple_text", retry.clone()).await;
    assert!(done["result"]["content"].is_array(), "{done}");
    assert_ne!(done["result"]["resultType"], "input_required", "{done}");

    // The seal is single-use: replaying the approved retry is refused.
    let replay = setup.call(3, "fx__test_simple_text", retry).await;
    assert_eq!(replay["error"]["code"], -32032, "{replay}");
    assert!(
        replay["error"]["message"]
            .as_str()
            .expect("message")
            .contains("used already"),
        "{replay}"
    );

    // A seal for one call does not approve another.
    let (_, state) = moat_question(&setup.call(4, "fx__test_simple_text", json!({})).await);
    let other = json!({"inputResponses": {KEY: accept()}, "requestState": state});
    let refused = setup.call(5, "fx__test_image_content", other).await;
    assert_eq!(refused["error"]["code"], -32032, "{refused}");

    // Declined: refused.
    let (_, state) = moat_question(&setup.call(6, "fx__test_simple_text", json!({})).await);
    let declined = json!({"inputResponses": {KEY: {"action": "decline"}}, "requestState": state});
    let refused = setup.call(7, "fx__test_simple_text", declined).await;
    assert_eq!(refused["error"]["code"], -32032, "{refused}");
    assert_eq!(
        refused["error"]["data"]["approval"]["status"], "denied",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_that_asks_in_rounds_is_approved_once() {
    let setup = start();
    let tool = "fx__test_input_required_result_request_state";
    let (_, state) = moat_question(&setup.call(1, tool, json!({})).await);

    // Approved, allowing the tool for an hour: the server's own question comes back, its state
    // sealed inside moat's. (The next round must still be read through that seal, although
    // the standing consent would let the call through on its own.)
    let remember = json!({"action": "accept", "content": {"remember_hours": 1}});
    let retry = json!({"inputResponses": {KEY: remember}, "requestState": state});
    let second = setup.call(2, tool, retry).await;
    let result = &second["result"];
    assert_eq!(result["resultType"], "input_required", "{second}");
    assert!(result["inputRequests"].get(KEY).is_none(), "{second}");
    assert!(result["inputRequests"]["confirm"].is_object(), "{second}");
    let state = result["requestState"].as_str().expect("state");
    assert!(state.starts_with("moat1."), "{state}");

    // The server's round goes through without asking the user again.
    let confirm = json!({"action": "accept", "content": {"ok": true}});
    let retry = json!({"inputResponses": {"confirm": confirm}, "requestState": state});
    let done = setup.call(3, tool, retry).await;
    let text = done["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("state-ok"), "{done}");
}
