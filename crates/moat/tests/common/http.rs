//! Raw Streamable HTTP exchanges with headers the test chooses, for checking what moat answers
//! on the wire (status codes, JSON-RPC error codes, session handling).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{Value, json};

use super::{TIMEOUT, init_crypto};

/// What a client that speaks both response forms sends.
pub(crate) const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// One HTTP client for all tests of a process, with the harness's timeout.
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        init_crypto();
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .expect("build the test HTTP client")
    })
}

/// An HTTP answer with its JSON-RPC messages (one JSON body, or every SSE `data:` event).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) session: Option<String>,
    /// The `Retry-After` header, if any.
    pub(crate) retry_after: Option<String>,
    pub(crate) messages: Vec<Value>,
    pub(crate) text: String,
}

impl Reply {
    /// The JSON-RPC answer: the JSON body itself (an array for a batch), or for an SSE stream its
    /// last message that is a response.
    pub(crate) fn json(&self) -> &Value {
        let answer = if self.content_type.starts_with("text/event-stream") {
            self.messages.iter().rev().find(|m| m.get("id").is_some())
        } else {
            self.messages.first()
        };
        answer.unwrap_or_else(|| panic!("no JSON-RPC answer in {self:?}"))
    }

    /// The `error.code` of the answer.
    pub(crate) fn error_code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("not a JSON-RPC error: {self:?}"))
    }
}

/// POSTs `body` to `url` with `headers` (on top of Accept and Content-Type).
pub(crate) async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut req = client()
        .post(url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("POST to moat");
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let session = header("mcp-session-id");
    let retry_after = header("retry-after");
    let text = resp.text().await.expect("read the response body");
    let messages = if content_type.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    } else {
        serde_json::from_str(&text).into_iter().collect()
    };
    Reply {
        status,
        content_type,
        session,
        retry_after,
        messages,
        text,
    }
}

/// DELETEs `url` with `headers`; returns the status.
pub(crate) async fn delete(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = client().delete(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("DELETE to moat").status().as_u16()
}

/// A JSON-RPC request with a fresh id.
pub(crate) fn request(method: &str, params: Value) -> Value {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    json!({"jsonrpc": "2.0", "id": NEXT.fetch_add(1, Ordering::Relaxed), "method": method, "params": params})
}

/// The `initialize` request of a client asking for `version`.
pub(crate) fn initialize(version: &str) -> Value {
    request(
        "initialize",
        json!({
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "moat-tests", "version": "0"}
        }),
    )
}

/// An initialized session, driven with raw requests.
pub(crate) struct RawSession {
    pub(crate) url: String,
    pub(crate) id: String,
    pub(crate) version: String,
    /// `Bearer <token>`, when the session was opened with one.
    pub(crate) authorization: Option<String>,
}

impl RawSession {
    /// Initializes a session at `url` for protocol `version` and sends `notifications/initialized`.
    pub(crate) async fn open(url: &str, version: &str) -> Self {
        Self::open_as(url, version, None).await
    }

    /// Like [`RawSession::open`], every request carrying `token` as its bearer token.
    pub(crate) async fn open_as(url: &str, version: &str, token: Option<&str>) -> Self {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|a| ("authorization", a.as_str()))
            .collect();
        let reply = post(url, &headers, initialize(version).to_string()).await;
        assert_eq!(reply.status, 200, "initialize failed: {reply:?}");
        assert_eq!(
            reply.json()["result"]["protocolVersion"],
            version,
            "{reply:?}"
        );
        let id = reply
            .session
            .clone()
            .expect("initialize sets Mcp-Session-Id");
        let session = Self {
            url: url.to_owned(),
            id,
            version: version.to_owned(),
            authorization,
        };
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let ack = session.post(&initialized).await;
        assert_eq!(ack.status, 202, "notifications/initialized: {ack:?}");
        session
    }

    /// The session's headers: its id, protocol version and bearer token (if any).
    pub(crate) fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![
            ("mcp-session-id", self.id.as_str()),
            ("mcp-protocol-version", self.version.as_str()),
        ];
        if let Some(a) = &self.authorization {
            headers.push(("authorization", a.as_str()));
        }
        headers
    }

    /// POSTs one message (or a batch) in this session.
    pub(crate) async fn post(&self, body: &Value) -> Reply {
        post(&self.url, &self.headers(), body.to_string()).await
    }

    /// Sends a request and returns its JSON-RPC response, checking the ids match.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        let req = request(method, params);
        let reply = self.post(&req).await;
        assert_eq!(reply.status, 200, "{method}: {reply:?}");
        let answer = reply.json().clone();
        assert_eq!(
            answer["id"], req["id"],
            "{method}: answer to another request"
        );
        answer
    }

    /// `tools/list`: the names shown, in order.
    pub(crate) async fn tool_names(&self) -> Vec<String> {
        let answer = self.call("tools/list", json!({})).await;
        answer["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("tools/list: {answer}"))
            .iter()
            .map(|t| t["name"].as_str().expect("tool name").to_owned())
            .collect()
    }

    /// `tools/call` of `name` with `arguments`: the JSON-RPC response.
    pub(crate) async fn call_tool(&self, name: &str, arguments: Value) -> Value {
        self.call("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }
}

/// The text blocks of a `tools/call` response's result, joined.
pub(crate) fn tool_text(answer: &Value) -> String {
    answer["result"]["content"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tool result: {answer}"))
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
