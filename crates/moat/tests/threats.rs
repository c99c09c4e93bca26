//! Request-side threat prevention through the running gateway with real servers: a call that
//! breaks its tool's `inputSchema` is answered with the violations and never reaches the server;
//! a burst over a rate limit gets HTTP 429 with `Retry-After` and -32035; PyPI `mcp-server-fetch`
//! (started so that it would fetch private addresses itself) is never sent to loopback or the
//! cloud metadata address, while an operator's allowed network does reach it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::http::{RawSession, request, tool_text};
use common::servers::{installed, s};
use common::{Moat, TempDir};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn start(extra: &str) -> (TempDir, Moat) {
    let servers = installed();
    let dir = TempDir::new();
    let yaml = format!(
        r#"upstreams:
  everything:
    approval: auto
    stdio:
      command: {node:?}
      args: [{everything:?}, stdio]
  fetch:
    approval: auto
    stdio:
      command: {fetch:?}
      args: [--allow-private-ips, --ignore-robots-txt]
{extra}"#,
        node = s(&servers.node),
        everything = s(&servers.everything),
        fetch = s(&servers.fetch),
    );
    let moat = Moat::with_config(&dir, &yaml);
    (dir, moat)
}

/// Writes a whole HTTP/1.1 200 answer and closes.
async fn respond(conn: &mut tokio::net::TcpStream, content_type: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(body.as_bytes()).await;
}

/// A loopback HTTP server that answers every request with a small page and counts them.
async fn page_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let body = "<html><body><p>The canary is ORANGE-42.</p></body></html>";
                respond(&mut conn, "text/html", body).await;
            });
        }
    });
    (port, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_breaks_the_schema_gets_its_violations() {
    let (_dir, moat) = start("guard:\n  strict: [\"everything/echo\"]\n");
    let session = RawSession::open(&moat.url, "2025-11-25").await;

    let ok = session
        .call_tool("everything__get-sum", json!({"a": 2, "b": 3}))
        .await;
    assert!(tool_text(&ok).contains('5'), "{ok}");

    let bad = session
        .call_tool("everything__get-sum", json!({"a": "two"}))
        .await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let text = tool_text(&bad);
    assert!(text.starts_with("moat refused the call"), "{text}");
    let violations = bad["result"]["_meta"]["moat/violations"]
        .as_array()
        .unwrap_or_else(|| panic!("{bad}"));
    let listed: Vec<&str> = violations.iter().filter_map(Value::as_str).collect();
    assert!(listed.iter().any(|v| v.starts_with("/a:")), "{listed:?}");
    assert!(
        listed.iter().any(|v| v.contains("\"b\"")),
        "the missing b: {listed:?}"
    );
    assert!(!text.contains("two"), "values are not echoed: {text}");
    moat.wait_for_log("event=\"invalid_arguments\"");

    // Strict mode for echo: an undeclared property is refused, a declared one passes.
    let extra = session
        .call_tool("everything__echo", json!({"message": "hi", "sudo": true}))
        .await;
    assert_eq!(extra["result"]["isError"], true, "{extra}");
    assert!(tool_text(&extra).contains("/sudo"), "{extra}");
    let plain = session
        .call_tool("everything__echo", json!({"message": "hi"}))
        .await;
    assert!(tool_text(&plain).contains("hi"), "{plain}");

    // Over the default nesting limit of 64: -32602 before any schema is read.
    let deep = (0..70).fold(json!(1), |inner, _| json!([inner]));
    let deep = session
        .call_tool("everything__echo", json!({"message": deep}))
        .await;
    assert_eq!(deep["error"]["code"], -32602, "{deep}");
    assert_eq!(deep["error"]["data"]["limit"], "depth", "{deep}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_rate_limit_gets_429_with_retry_after() {
    let limits = "limits:\n  rates:\n    echo-burst:\n      per: [agent, tool]\n      rate: 2/min\n      tools: [\"everything/echo\"]\n";
    let (_dir, moat) = start(limits);
    let session = RawSession::open(&moat.url, "2025-11-25").await;
    let echo = |text: &str| {
        request(
            "tools/call",
            json!({"name": "everything__echo", "arguments": {"message": text}}),
        )
    };
    for i in 0..2 {
        let reply = session.post(&echo(&format!("call {i}"))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(reply.json()["result"].is_object(), "{reply:?}");
    }
    let over = session.post(&echo("one too many")).await;
    assert_eq!(over.status, 429, "{over:?}");
    let retry: u64 = over
        .retry_after
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After: {over:?}"));
    // 2 a minute: the next cell is due in about 30 s.
    assert!((1..=30).contains(&retry), "{retry}");
    let error = &over.json()["error"];
    assert_eq!(error["code"], -32035, "{over:?}");
    assert_eq!(error["data"]["rule"], "echo-burst", "{over:?}");
    assert!(
        error["data"]["retry_after_ms"].as_u64().unwrap() > 0,
        "{over:?}"
    );
    moat.wait_for_log("event=\"rate_limited\"");

    // Other tools are not counted by this limit.
    let sum = session
        .call_tool("everything__get-sum", json!({"a": 1, "b": 1}))
        .await;
    assert!(sum["result"].is_object(), "{sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_is_never_sent_to_private_addresses() {
    let (port, hits) = page_server().await;
    let (_dir, moat) = start("");
    let session = RawSession::open(&moat.url, "2025-11-25").await;
    let refused = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://user:pw@example.com@127.0.0.1:{port}/"),
        // Python's parser reads the host after the backslash; WHATWG's before it.
        format!("http://example.com\\@127.0.0.1:{port}/"),
        // A name moat cannot resolve (no network here) is refused too.
        "http://intranet.example/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ];
    for url in &refused {
        let answer = session.call_tool("fetch__fetch", json!({"url": url})).await;
        assert_eq!(answer["error"]["code"], -32034, "{url}: {answer}");
        assert_eq!(
            answer["error"]["data"]["check"], "egress",
            "{url}: {answer}"
        );
        assert_eq!(
            answer["error"]["data"]["argument"], "/url",
            "{url}: {answer}"
        );
    }
    let metadata = session
        .call_tool("fetch__fetch", json!({"url": "http://169.254.169.254/"}))
        .await;
    let message = metadata["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("link-local"), "{message}");
    let named = session
        .call_tool("fetch__fetch", json!({"url": "http://intranet.example/"}))
        .await;
    let message = named["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("does not lead to a public address") && !message.contains("resolves"),
        "what a name resolves to stays in the log: {message}"
    );
    // The fetch prompt takes a URL too.
    let url = format!("http://127.0.0.1:{port}/");
    let prompt = session
        .call(
            "prompts/get",
            json!({"name": "fetch__fetch", "arguments": {"url": url}}),
        )
        .await;
    assert_eq!(prompt["error"]["code"], -32034, "{prompt}");
    assert_eq!(prompt["error"]["data"]["argument"], "/url", "{prompt}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a refused URL reached the page"
    );
    moat.wait_for_log("event=\"egress_refused\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_network_is_reached_through_fetch() {
    let (port, hits) = page_server().await;
    let (_dir, moat) = start("guard:\n  egress:\n    allowed_networks: [127.0.0.1/32]\n");
    let session = RawSession::open(&moat.url, "2025-11-25").await;
    let answer = session
        .call_tool(
            "fetch__fetch",
            json!({"url": format!("http://127.0.0.1:{port}/")}),
        )
        .await;
    assert!(tool_text(&answer).contains("ORANGE-42"), "{answer}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The allowance is for that network only.
    let metadata = session
        .call_tool("fetch__fetch", json!({"url": "http://169.254.169.254/"}))
        .await;
    assert_eq!(metadata["error"]["code"], -32034, "{metadata}");
}

/// A loopback guardrail service: denies content that mentions "launch codes", replaces
/// arguments that ask for "REPLACE-ME", allows the rest; counts what it was asked.
async fn guardrail_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let body = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().expect("content-length"))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break body.to_owned();
                    }
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let asked: Value = serde_json::from_str(&body).expect("moat sends JSON");
                let content = asked["content"].to_string();
                let answer = if content.contains("launch codes") {
                    json!({"action": "deny", "reason": "talks about launch codes"})
                } else if asked["direction"] == "arguments" && content.contains("REPLACE-ME") {
                    json!({"action": "replace", "content": {"message": "replaced by the guardrail"}})
                } else {
                    json!({"action": "allow"})
                };
                respond(&mut conn, "application/json", &answer.to_string()).await;
            });
        }
    });
    (port, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_cut_to_their_fields_and_size() {
    let guard = "guard:\n  results:\n    \"everything/get-structured-content\": {deny: [humidity]}\n    \"everything/echo\": {max_bytes: 400}\n    \"everything/get-tiny-image\": {max_bytes: 256, over: error}\n";
    let (_dir, moat) = start(guard);
    let session = RawSession::open(&moat.url, "2025-11-25").await;

    let weather = session
        .call_tool(
            "everything__get-structured-content",
            json!({"location": "Chicago"}),
        )
        .await;
    let structured = &weather["result"]["structuredContent"];
    assert_eq!(structured["temperature"], 36, "{weather}");
    assert!(structured.get("humidity").is_none(), "{weather}");
    assert!(
        !tool_text(&weather).contains("humidity"),
        "the text copy too: {weather}"
    );

    let long = "word ".repeat(400);
    let echo = session
        .call_tool("everything__echo", json!({"message": long}))
        .await;
    let text = tool_text(&echo);
    assert!(text.contains("[moat: result truncated to"), "{text}");
    assert!(echo["result"].to_string().len() <= 400, "{echo}");
    let short = session
        .call_tool("everything__echo", json!({"message": "short"}))
        .await;
    assert!(!tool_text(&short).contains("truncated"), "{short}");

    // Over its limit with `over: error`, the result is withheld.
    let image = session
        .call_tool("everything__get-tiny-image", json!({}))
        .await;
    assert_eq!(image["result"]["isError"], true, "{image}");
    assert!(tool_text(&image).contains("withheld"), "{image}");
    moat.wait_for_log("event=\"minimised\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_guardrail_denies_replaces_and_fails_closed() {
    let (port, asked) = guardrail_server().await;
    let guard = format!(
        "guard:\n  guardrails:\n    judge:\n      url: http://127.0.0.1:{port}/check\n      tools: [\"everything/*\"]\n      on: [results, arguments]\n    gone:\n      url: http://127.0.0.1:9/check\n      tools: [\"everything/get-sum\"]\n      timeout: 1s\n"
    );
    let (_dir, moat) = start(&guard);
    let session = RawSession::open(&moat.url, "2025-11-25").await;

    let fine = session
        .call_tool("everything__echo", json!({"message": "hello"}))
        .await;
    assert!(tool_text(&fine).contains("hello"), "{fine}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "arguments and result were judged"
    );

    let denied = session
        .call_tool(
            "everything__echo",
            json!({"message": "the launch codes are 1234"}),
        )
        .await;
    assert_eq!(denied["error"]["code"], -32034, "{denied}");
    assert_eq!(denied["error"]["data"]["guardrail"], "judge", "{denied}");

    let replaced = session
        .call_tool("everything__echo", json!({"message": "REPLACE-ME"}))
        .await;
    assert!(
        tool_text(&replaced).contains("replaced by the guardrail"),
        "{replaced}"
    );

    // A guardrail that cannot be reached fails closed.
    let sum = session
        .call_tool("everything__get-sum", json!({"a": 1, "b": 2}))
        .await;
    assert_eq!(sum["error"]["code"], -32034, "{sum}");
    assert_eq!(sum["error"]["data"]["guardrail"], "gone", "{sum}");
    moat.wait_for_log("event=\"guardrail\"");
}

/// A client whose "model" records what it was asked and answers with a planted secret.
#[derive(Clone, Default)]
struct RecordingModel(Arc<std::sync::Mutex<Vec<Value>>>);

// Sampling is deprecated for later revisions (SEP-2577) but part of the 2025 ones moat serves.
#[allow(deprecated)]
impl rmcp::ClientHandler for RecordingModel {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        let capabilities = serde_json::from_value(json!({"sampling": {}})).expect("capabilities");
        rmcp::model::ClientConfig::new(
            capabilities,
            rmcp::model::Implementation::new("moat-tests", "0"),
        )
        .with_protocol_version(rmcp::model::ProtocolVersion::V_2025_11_25)
    }

    async fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        self.0
            .lock()
            .expect("the record")
            .push(serde_json::to_value(&params).expect("params as JSON"));
        Ok(serde_json::from_value(json!({
            "model": "recording-model",
            "role": "assistant",
            "content": {"type": "text", "text": "the deploy key is AKIAIOSFODNN7EXAMPLE"},
        }))
        .expect("a sampling result"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_requests_reach_the_model_with_secrets_masked() {
    use rmcp::ServiceExt;
    common::init_crypto();
    let (_dir, moat) = start("");
    let model = RecordingModel::default();
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(moat.url.clone());
    let client = tokio::time::timeout(common::TIMEOUT, model.clone().serve(transport))
        .await
        .expect("initialized in time")
        .expect("initialized");
    let params = rmcp::model::CallToolRequestParams::new("everything__trigger-sampling-request")
        .with_arguments(
            json!({"prompt": "Summarise: customer paid with 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE"})
                .as_object()
                .expect("object")
                .clone(),
        );
    let result = tokio::time::timeout(common::TIMEOUT, client.call_tool(params))
        .await
        .expect("answered in time")
        .expect("the tool call");
    let asked = model.0.lock().expect("the record").clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let seen = asked[0].to_string();
    assert!(
        !seen.contains("AKIAIOSFODNN7EXAMPLE"),
        "the model saw the key: {seen}"
    );
    assert!(
        seen.contains("[REDACTED:aws_key]") && seen.contains("[REDACTED:payment_card]"),
        "{seen}"
    );
    let text = serde_json::to_string(&result).expect("result as JSON");
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
    moat.wait_for_log("method=\"sampling/createMessage\"");
}
