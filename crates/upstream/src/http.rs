//! Streamable HTTP servers: every message is a POST; answers come as JSON or as an SSE stream;
//! an optional GET stream carries unsolicited messages.

use std::sync::Arc;

use futures::StreamExt;
use moat_config::Value;
use moat_proto::Message;
use parking_lot::Mutex;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};

use crate::connection::{ConnectOptions, Shared, numeric_request_id};
use crate::error::UpstreamErrorKind;
use crate::sse::SseDecoder;

const SESSION: &str = "mcp-session-id";
const VERSION: &str = "mcp-protocol-version";

/// A session with one Streamable HTTP server.
pub(crate) struct HttpLink {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    session: Arc<Mutex<Option<HeaderValue>>>,
    version: Mutex<Option<HeaderValue>>,
    max_message: usize,
}

/// Resolves configured headers (secret references are read now, at connect time).
pub(crate) fn resolve_headers(headers: &[(String, Value)]) -> Result<HeaderMap, UpstreamErrorKind> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = |why: String| UpstreamErrorKind::Connect(format!("header {name}: {why}"));
        let v = value.resolve().map_err(|e| bad(e.to_string()))?;
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let mut v = HeaderValue::from_str(&v).map_err(|e| bad(e.to_string()))?;
        v.set_sensitive(true);
        map.insert(n, v);
    }
    Ok(map)
}

impl HttpLink {
    pub(crate) fn new(
        opts: &ConnectOptions,
        url: &str,
        headers: &[(String, Value)],
    ) -> Result<Self, UpstreamErrorKind> {
        Ok(Self {
            client: opts.http.clone(),
            url: url.to_owned(),
            headers: resolve_headers(headers)?,
            session: Arc::new(Mutex::new(None)),
            version: Mutex::new(None),
            max_message: opts.max_message,
        })
    }

    pub(crate) fn set_protocol_version(&self, v: &str) {
        *self.version.lock() = HeaderValue::from_str(v).ok();
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut headers = self.headers.clone();
        if let Some(s) = self.session.lock().clone() {
            headers.insert(SESSION, s);
        }
        if let Some(v) = self.version.lock().clone() {
            headers.insert(VERSION, v);
        }
        self.client.request(method, &self.url).headers(headers)
    }

    pub(crate) fn send(&self, shared: &Arc<Shared>, msg: Message) -> Result<(), UpstreamErrorKind> {
        let related = numeric_request_id(&msg);
        let req = self
            .request(reqwest::Method::POST)
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(msg.to_bytes());
        let shared = shared.clone();
        let session = self.session.clone();
        let max = self.max_message;
        tokio::spawn(async move {
            let outcome = match req.send().await {
                Ok(resp) => handle_post_response(resp, &shared, &session, related, max).await,
                Err(e) => Err(UpstreamErrorKind::Connect(e.to_string())),
            };
            if let (Err(kind), Some(id)) = (outcome, related) {
                shared.fail(id, kind);
            }
        });
        Ok(())
    }

    /// Opens the GET stream for server-initiated messages; a server without one (405) is fine.
    pub(crate) fn open_listen_stream(&self, shared: &Arc<Shared>) {
        let req = self
            .request(reqwest::Method::GET)
            .header(ACCEPT, "text/event-stream");
        let shared = shared.clone();
        let max = self.max_message;
        tokio::spawn(async move {
            let resp = tokio::select! {
                r = req.send() => r,
                () = shared.cancel.cancelled() => return,
            };
            match resp {
                Ok(r) if r.status().is_success() && is_sse(&r) => {
                    tokio::select! {
                        _ = read_sse(r, &shared, None, max) => {}
                        () = shared.cancel.cancelled() => {}
                    }
                }
                Ok(r) => {
                    tracing::debug!(server = %shared.name, status = %r.status(), "no GET stream")
                }
                Err(e) => tracing::debug!(server = %shared.name, "GET stream failed: {e}"),
            }
        });
    }

    /// Ends the server-side session, best effort, without waiting.
    pub(crate) fn delete_session(&self) {
        if self.session.lock().is_none() {
            return;
        }
        let req = self.request(reqwest::Method::DELETE);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = req.send().await;
            });
        }
    }
}

fn is_sse(r: &Response) -> bool {
    r.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

async fn handle_post_response(
    resp: Response,
    shared: &Arc<Shared>,
    session: &Mutex<Option<HeaderValue>>,
    related: Option<i64>,
    max: usize,
) -> Result<(), UpstreamErrorKind> {
    if let Some(s) = resp.headers().get(SESSION) {
        let mut current = session.lock();
        if current.is_none() {
            *current = Some(s.clone());
        }
    }
    let status = resp.status();
    if status == StatusCode::NOT_FOUND && session.lock().is_some() {
        shared.close("the server ended the session (HTTP 404)".into());
        return Err(UpstreamErrorKind::Closed("session expired".into()));
    }
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        let snippet: String = body.chars().take(200).collect();
        return Err(UpstreamErrorKind::Protocol(format!(
            "HTTP {status}: {snippet}"
        )));
    }
    if status == StatusCode::ACCEPTED || related.is_none() {
        return Ok(());
    }
    if is_sse(&resp) {
        return read_sse(resp, shared, related, max).await;
    }
    let body = read_limited(resp, max).await?;
    shared.dispatch_bytes(&body, related);
    Ok(())
}

async fn read_limited(resp: Response, max: usize) -> Result<Vec<u8>, UpstreamErrorKind> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| UpstreamErrorKind::Closed(format!("reading response: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(UpstreamErrorKind::Protocol(format!(
                "response larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads an event stream until it ends; every `message` event is dispatched.
pub(crate) async fn read_sse(
    resp: Response,
    shared: &Arc<Shared>,
    related: Option<i64>,
    max: usize,
) -> Result<(), UpstreamErrorKind> {
    let mut decoder = SseDecoder::new(max);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| UpstreamErrorKind::Closed(format!("event stream: {e}")))?;
        let events = decoder
            .feed(&chunk)
            .map_err(|e| UpstreamErrorKind::Protocol(e.to_string()))?;
        for ev in events {
            if (ev.event.is_empty() || ev.event == "message") && !ev.data.trim().is_empty() {
                shared.dispatch_bytes(ev.data.as_bytes(), related);
            }
        }
    }
    Ok(())
}
