//! A deliberately fast MCP server for benchmarks: stateless, JSON answers, replies assembled from
//! precomputed bytes, no SDK. It answers `initialize`, notifications (202), `ping`, `tools/list`
//! and `tools/call` for `echo` (returns its `text` argument) and `payload` (returns `size` bytes
//! of text); any further tools (`--tools N`) answer like `echo`.
//!
//! The same [`Server`] is served over Streamable HTTP ([`http`]) and newline-delimited stdio
//! ([`stdio`]).

pub mod http;
pub mod stdio;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The protocol revision answered when the client asks for none.
const DEFAULT_VERSION: &str = "2025-11-25";

/// What a message asks of the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// A JSON-RPC response body.
    Json(Vec<u8>),
    /// A notification or a response: nothing to answer (HTTP 202).
    Accepted,
}

/// The server's fixed state: its tool list, serialised once.
#[derive(Debug, Clone)]
pub struct Server {
    tools_list: String,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EchoArgs<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

#[derive(Deserialize)]
struct PayloadArgs {
    size: usize,
}

#[derive(Deserialize)]
struct InitParams<'a> {
    #[serde(borrow, rename = "protocolVersion")]
    protocol_version: Option<Cow<'a, str>>,
}

impl Server {
    /// A server exposing `tools` tools (at least `echo` and `payload`).
    pub fn new(tools: usize) -> Self {
        Self {
            tools_list: tools_list(tools.max(2)),
        }
    }

    /// Answers one message; malformed input gets a JSON-RPC error, never a panic.
    pub fn handle(&self, body: &[u8]) -> Reply {
        let msg: Incoming<'_> = match serde_json::from_slice(body) {
            Ok(m) => m,
            Err(e) => return Reply::Json(error(None, -32700, &e.to_string())),
        };
        let (Some(id), Some(method)) = (msg.id, msg.method) else {
            return Reply::Accepted;
        };
        let body = match method.as_ref() {
            "initialize" => result(id, &initialize_result(msg.params)),
            "ping" => result(id, "{}"),
            "tools/list" => result(id, &self.tools_list),
            "tools/call" => match call(msg.params) {
                Ok(r) => result(id, &r),
                Err(why) => error(Some(id), -32602, &why),
            },
            other => error(Some(id), -32601, &format!("method not found: {other}")),
        };
        Reply::Json(body)
    }
}

fn initialize_result(params: Option<&RawValue>) -> String {
    let requested = params
        .and_then(|p| serde_json::from_str::<InitParams<'_>>(p.get()).ok())
        .and_then(|p| p.protocol_version.map(Cow::into_owned));
    let version = requested.unwrap_or_else(|| DEFAULT_VERSION.to_owned());
    let version = serde_json::to_string(&version).unwrap_or_default();
    format!(
        r#"{{"protocolVersion":{version},"capabilities":{{"tools":{{"listChanged":false}}}},"serverInfo":{{"name":"moat-bench-upstream","version":"{}"}}}}"#,
        env!("CARGO_PKG_VERSION")
    )
}

fn call(params: Option<&RawValue>) -> Result<String, String> {
    let params = params.ok_or("tools/call needs params")?;
    let p: CallParams<'_> = serde_json::from_str(params.get()).map_err(|e| e.to_string())?;
    let args = p.arguments.map_or("{}", RawValue::get);
    if p.name == "payload" {
        let a: PayloadArgs = serde_json::from_str(args).map_err(|e| e.to_string())?;
        return Ok(payload_result(a.size));
    }
    if p.name != "echo" && !p.name.starts_with("tool_") {
        return Err(format!("unknown tool: {}", p.name));
    }
    let a: EchoArgs<'_> = serde_json::from_str(args).map_err(|e| e.to_string())?;
    let text = serde_json::to_string(&a.text).map_err(|e| e.to_string())?;
    Ok(format!(
        r#"{{"content":[{{"type":"text","text":{text}}}],"isError":false}}"#
    ))
}

/// A result whose one text item is `size` bytes of `x`.
fn payload_result(size: usize) -> String {
    const HEAD: &str = r#"{"content":[{"type":"text","text":""#;
    const TAIL: &str = r#""}],"isError":false}"#;
    let mut s = String::with_capacity(HEAD.len() + size + TAIL.len());
    s.push_str(HEAD);
    s.extend(std::iter::repeat_n('x', size));
    s.push_str(TAIL);
    s
}

fn result(id: &RawValue, result: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(result.len() + 48);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.get().as_bytes());
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result.as_bytes());
    out.push(b'}');
    out
}

fn error(id: Option<&RawValue>, code: i32, message: &str) -> Vec<u8> {
    let id = id.map_or("null", RawValue::get);
    let message = serde_json::to_string(message).unwrap_or_default();
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
        .into_bytes()
}

/// `{"tools":[...]}` with `echo`, `payload` and `tool_2` … `tool_{n-1}`.
fn tools_list(n: usize) -> String {
    let text_schema = serde_json::json!({
        "type": "object",
        "properties": {"text": {"type": "string", "description": "Text to return."}},
        "required": ["text"],
    });
    let mut tools = vec![
        serde_json::json!({
            "name": "echo",
            "description": "Returns its text argument.",
            "inputSchema": text_schema,
        }),
        serde_json::json!({
            "name": "payload",
            "description": "Returns `size` bytes of text.",
            "inputSchema": {
                "type": "object",
                "properties": {"size": {"type": "integer", "minimum": 0}},
                "required": ["size"],
            },
        }),
    ];
    tools.extend((2..n).map(|i| {
        serde_json::json!({
            "name": format!("tool_{i}"),
            "description": format!("Benchmark tool number {i}; returns its text argument."),
            "inputSchema": text_schema,
        })
    }));
    serde_json::json!({ "tools": tools }).to_string()
}

#[cfg(test)]
mod tests;
