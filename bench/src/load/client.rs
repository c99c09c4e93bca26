//! One MCP client session over one HTTP/1.1 keep-alive connection, on hyper's low-level client
//! (no pool, no extra task per request). Every answer is checked.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail, ensure};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;

/// The revision the load generator speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Where an MCP endpoint is.
#[derive(Debug, Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    authority: HeaderValue,
    path: String,
    bearer: Option<HeaderValue>,
}

impl Endpoint {
    /// Parses `http://IP:PORT/PATH`.
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("{url}: only http:// URLs"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Self {
            addr: authority
                .parse()
                .with_context(|| format!("{url}: host must be IP:PORT"))?,
            authority: HeaderValue::from_str(authority)?,
            path: format!("/{path}"),
            bearer: None,
        })
    }

    /// `http://IP:PORT/PATH`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// The same endpoint, every request carrying `Authorization: Bearer <token>`.
    pub fn with_bearer(mut self, token: &str) -> Result<Self> {
        let mut v = HeaderValue::from_str(&format!("Bearer {token}"))?;
        v.set_sensitive(true);
        self.bearer = Some(v);
        Ok(self)
    }
}

/// What each `tools/call` sends: tools used in turn, and the size of the `text` argument.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Tool names, called round-robin (several for a federation).
    pub tools: Arc<[String]>,
    /// Size of the `text` argument `echo` returns.
    pub text_bytes: usize,
}

/// An MCP session on its own connection.
pub struct McpConn {
    sender: http1::SendRequest<Full<Bytes>>,
    endpoint: Arc<Endpoint>,
    session: Option<HeaderValue>,
    next_id: u64,
    tag: usize,
}

#[derive(Deserialize)]
struct Answer<'a> {
    jsonrpc: Cow<'a, str>,
    id: Option<u64>,
    #[serde(borrow)]
    result: Option<CallResult<'a>>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ListAnswer {
    id: u64,
    result: ListResult,
}

#[derive(Deserialize)]
struct ListResult {
    tools: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(borrow)]
    content: Vec<Content<'a>>,
    #[serde(rename = "isError", default)]
    is_error: bool,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

impl McpConn {
    /// Opens a connection (no session yet); `tag` makes this connection's echo texts unique.
    pub async fn connect(endpoint: Arc<Endpoint>, tag: usize) -> Result<Self> {
        let stream = TcpStream::connect(endpoint.addr)
            .await
            .with_context(|| format!("connecting to {}", endpoint.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            sender,
            endpoint,
            session: None,
            next_id: 1,
            tag,
        })
    }

    /// A connection with an initialized session (initialize, then notifications/initialized).
    pub async fn open(endpoint: Arc<Endpoint>, tag: usize) -> Result<Self> {
        let mut conn = Self::connect(endpoint, tag).await?;
        conn.initialize().await?;
        conn.notify_initialized().await?;
        Ok(conn)
    }

    /// Sends `initialize` and keeps the session id (a new session each time it is called).
    pub async fn initialize(&mut self) -> Result<()> {
        self.session = None;
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"moat-bench","version":"{}"}}}}}}"#,
            env!("CARGO_PKG_VERSION")
        );
        let (status, session, body) = self.post(Bytes::from(body)).await?;
        ensure!(status == StatusCode::OK, "initialize: HTTP {status}");
        let v: serde_json::Value = serde_json::from_slice(&body).context("initialize answer")?;
        ensure!(
            v["result"]["protocolVersion"] == PROTOCOL_VERSION,
            "initialize answered {v}"
        );
        self.session = session;
        Ok(())
    }

    async fn notify_initialized(&mut self) -> Result<()> {
        let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let (status, _, _) = self.post(Bytes::from_static(body.as_bytes())).await?;
        ensure!(
            status == StatusCode::ACCEPTED,
            "notifications/initialized: HTTP {status}"
        );
        Ok(())
    }

    /// One `tools/call` of an echo-like tool; fails unless the answer is exactly right.
    pub async fn call(&mut self, work: &Workload) -> Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let tool = &work.tools[(id as usize + self.tag) % work.tools.len()];
        let text = echo_text(self.tag, id, work.text_bytes);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"{text}"}}}}}}"#
        );
        let (status, _, answer) = self.post(Bytes::from(body)).await?;
        ensure!(status == StatusCode::OK, "tools/call {tool}: HTTP {status}");
        check_text(&answer, id, |t| t == text).with_context(|| format!("tools/call {tool}"))
    }

    /// One `tools/call payload`; returns the size of the checked text.
    pub async fn call_payload(&mut self, tool: &str, size: usize) -> Result<usize> {
        let id = self.next_id;
        self.next_id += 1;
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"size":{size}}}}}}}"#
        );
        let (status, _, answer) = self.post(Bytes::from(body)).await?;
        ensure!(status == StatusCode::OK, "payload: HTTP {status}");
        let ok = |t: &str| t.len() == size && t.bytes().all(|b| b == b'x');
        check_text(&answer, id, ok).context("payload")?;
        Ok(size)
    }

    /// `tools/list`; returns how many tools were listed (one page).
    pub async fn list_tools(&mut self) -> Result<usize> {
        let id = self.next_id;
        self.next_id += 1;
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
        let (status, _, answer) = self.post(Bytes::from(body)).await?;
        ensure!(status == StatusCode::OK, "tools/list: HTTP {status}");
        let a: ListAnswer = serde_json::from_slice(&answer).context("tools/list answer")?;
        ensure!(a.id == id, "tools/list answered id {}, expected {id}", a.id);
        Ok(a.result.tools.len())
    }

    /// Ends the session (best effort).
    pub async fn close(mut self) {
        if self.session.is_some() {
            let _ = self.send(Method::DELETE, Bytes::new()).await;
        }
    }

    async fn post(&mut self, body: Bytes) -> Result<(StatusCode, Option<HeaderValue>, Bytes)> {
        self.send(Method::POST, body).await
    }

    async fn send(
        &mut self,
        method: Method,
        body: Bytes,
    ) -> Result<(StatusCode, Option<HeaderValue>, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(self.endpoint.path.as_str())
            .header(header::HOST, self.endpoint.authority.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header("mcp-protocol-version", PROTOCOL_VERSION);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s.clone());
        }
        if let Some(b) = &self.endpoint.bearer {
            req = req.header(header::AUTHORIZATION, b.clone());
        }
        self.sender.ready().await.context("connection closed")?;
        let resp = self.sender.send_request(req.body(Full::new(body))?).await?;
        let status = resp.status();
        let session = resp.headers().get("mcp-session-id").cloned();
        let sse = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = resp.into_body().collect().await?.to_bytes();
        let body = if sse { first_event_data(&body) } else { body };
        Ok((status, session, body))
    }
}

/// The `data` of the first event that has any, for servers that answer with an event stream
/// whatever the client accepts.
fn first_event_data(stream: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(stream);
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.iter().any(|d| !d.is_empty()) {
            return Bytes::from(data.join("\n"));
        }
    }
    Bytes::new()
}

/// A text unique to the connection and request, padded with letters to `bytes`.
fn echo_text(tag: usize, id: u64, bytes: usize) -> String {
    let mut t = format!("c{tag}-r{id}-");
    let pad = bytes.saturating_sub(t.len());
    t.extend((0..pad).map(|i| char::from(b'a' + (i % 26) as u8)));
    t
}

/// Checks a JSON-RPC result to request `id` whose first content item is text that `ok` accepts.
fn check_text(body: &[u8], id: u64, ok: impl Fn(&str) -> bool) -> Result<()> {
    let a: Answer<'_> = serde_json::from_slice(body).map_err(|e| {
        let head: String = String::from_utf8_lossy(body).chars().take(200).collect();
        anyhow!("not a JSON-RPC answer ({e}): {head}")
    })?;
    ensure!(a.jsonrpc == "2.0", "jsonrpc is {:?}", a.jsonrpc);
    ensure!(a.id == Some(id), "answer to id {:?}, expected {id}", a.id);
    if let Some(e) = a.error {
        bail!("JSON-RPC error: {}", e.get());
    }
    let r = a.result.ok_or_else(|| anyhow!("no result"))?;
    ensure!(!r.is_error, "isError is true");
    match r.content.first() {
        Some(c) if c.kind == "text" && ok(&c.text) => Ok(()),
        Some(c) => bail!("wrong text ({} bytes, type {})", c.text.len(), c.kind),
        None => bail!("empty content"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_texts_are_unique_and_sized() {
        assert_eq!(echo_text(3, 17, 16), "c3-r17-abcdefghi");
        assert_eq!(echo_text(3, 17, 0), "c3-r17-");
    }

    #[test]
    fn answers_are_checked_field_by_field() {
        let good =
            br#"{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
        assert!(check_text(good, 5, |t| t == "hi").is_ok());
        assert!(check_text(good, 6, |t| t == "hi").is_err());
        assert!(check_text(good, 5, |t| t == "ho").is_err());
        let err = br#"{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"x"}}"#;
        assert!(check_text(err, 5, |_| true).is_err());
        assert!(check_text(b"<html>", 5, |_| true).is_err());
    }

    #[test]
    fn event_streams_yield_their_first_data() {
        let s = b"id: 1\nretry: 500\ndata:\n\nevent: message\ndata: {\"a\":\ndata: 1}\n\n";
        assert_eq!(&first_event_data(s)[..], b"{\"a\":\n1}");
    }

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:9/mcp").unwrap();
        assert_eq!(e.path, "/mcp");
        assert_eq!(e.authority, "127.0.0.1:9");
        assert!(Endpoint::parse("https://x/mcp").is_err());
    }
}
