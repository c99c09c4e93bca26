//! Streamable HTTP servers: every message is a POST; answers come as JSON or as an SSE stream;
//! an optional GET stream carries unsolicited messages.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use moat_config::Value;
use moat_proto::Message;
use parking_lot::Mutex;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use tokio::task::AbortHandle;

use crate::connection::{ConnectOptions, Shared, Transfer, numeric_request_id};
use crate::credentials::{UpstreamToken, add_token};
use crate::error::UpstreamErrorKind;
use crate::plain::PlainHttpClient;
use crate::sse::SseDecoder;

const SESSION: &str = "mcp-session-id";
const VERSION: &str = "mcp-protocol-version";

/// A session with one Streamable HTTP server.
pub(crate) struct HttpLink {
    client: reqwest::Client,
    /// Parsed once: reqwest would parse a string again for every request.
    url: Url,
    /// For `http://` servers, POSTs go straight to hyper (see `plain.rs`).
    plain: Option<Arc<(PlainHttpClient, http::Uri)>>,
    headers: HeaderMap,
    /// moat's own token for this server, when it needs one.
    token: Option<Arc<UpstreamToken>>,
    session: Arc<Mutex<Option<HeaderValue>>>,
    version: Mutex<Option<HeaderValue>>,
    max_message: usize,
    /// Requests whose response is still being read, so a stateless one can be cancelled by
    /// dropping its stream.
    inflight: Arc<Mutex<HashMap<i64, AbortHandle>>>,
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
        token: Option<Arc<UpstreamToken>>,
    ) -> Result<Self, UpstreamErrorKind> {
        let bad_url = |e: String| UpstreamErrorKind::Connect(format!("url {url:?}: {e}"));
        let parsed = Url::parse(url).map_err(|e| bad_url(e.to_string()))?;
        let plain = match parsed.scheme() {
            "http" => {
                let uri = parsed.as_str().parse::<http::Uri>();
                let uri = uri.map_err(|e| bad_url(e.to_string()))?;
                Some(Arc::new((opts.plain_http.clone(), uri)))
            }
            _ => None,
        };
        Ok(Self {
            client: opts.http.clone(),
            url: parsed,
            plain,
            headers: resolve_headers(headers)?,
            token,
            session: Arc::new(Mutex::new(None)),
            version: Mutex::new(None),
            max_message: opts.max_message,
            inflight: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    pub(crate) fn set_protocol_version(&self, v: &str) {
        *self.version.lock() = HeaderValue::from_str(v).ok();
    }

    /// The configured headers plus the session's.
    fn headers(&self) -> HeaderMap {
        let mut headers = self.headers.clone();
        add_token(&mut headers, self.token.as_deref());
        if let Some(s) = self.session.lock().clone() {
            headers.insert(SESSION, s);
        }
        if let Some(v) = self.version.lock().clone() {
            headers.insert(VERSION, v);
        }
        headers
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url.clone())
            .headers(self.headers())
    }

    /// A POST's headers; added ones are appended, as reqwest's `header()` does.
    fn post_headers(
        &self,
        msg: &Message,
        stateless: bool,
        extra: &[(String, String)],
    ) -> Result<HeaderMap, UpstreamErrorKind> {
        let mut headers = self.headers();
        headers.append(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let bad = |e: String| UpstreamErrorKind::Connect(format!("request header: {e}"));
        let routing = if stateless {
            routing_headers(msg)
        } else {
            Vec::new()
        };
        for (name, value) in routing {
            let value = HeaderValue::try_from(value).map_err(|e| bad(e.to_string()))?;
            headers.append(name, value);
        }
        for (name, value) in extra {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let value = HeaderValue::from_str(value).map_err(|e| bad(e.to_string()))?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    fn stateless(&self) -> bool {
        self.version
            .lock()
            .as_ref()
            .is_some_and(|v| v.as_bytes() >= b"2026-07-28".as_slice())
    }

    /// Sends a message. A request to a session-based server comes back as the exchange for the
    /// caller to run; anything else runs in a task of its own (a stateless request there too, so
    /// that [`Self::abort`] can close its stream).
    pub(crate) fn send(
        &self,
        shared: &Arc<Shared>,
        msg: Message,
        extra: &[(String, String)],
    ) -> Result<Option<Transfer>, UpstreamErrorKind> {
        let related = numeric_request_id(&msg);
        let stateless = self.stateless();
        let headers = self.post_headers(&msg, stateless, extra)?;
        let post = Post {
            client: self.client.clone(),
            url: self.url.clone(),
            plain: self.plain.clone(),
            headers,
            body: Bytes::from(msg.to_bytes()),
        };
        drop(msg);
        let shared = shared.clone();
        let session = self.session.clone();
        let max = self.max_message;
        let exchange = async move {
            let outcome = post.exchange(&shared, &session, related, max).await;
            if let (Some(id), Err(kind)) = (related, outcome) {
                shared.fail(id, kind);
            }
        };
        let Some(id) = related.filter(|_| stateless) else {
            if related.is_some() {
                return Ok(Some(Box::pin(exchange)));
            }
            tokio::spawn(exchange);
            return Ok(None);
        };
        let inflight = self.inflight.clone();
        let task = tokio::spawn(async move {
            exchange.await;
            inflight.lock().remove(&id);
        });
        if !task.is_finished() {
            self.inflight.lock().insert(id, task.abort_handle());
        }
        Ok(None)
    }

    /// Cancels a stateless request by closing its response stream; `false` when that is not how
    /// this server cancels (session-based) or the request is no longer open.
    pub(crate) fn abort(&self, id: i64) -> bool {
        if !self.stateless() {
            return false;
        }
        match self.inflight.lock().remove(&id) {
            Some(handle) => {
                handle.abort();
                true
            }
            None => false,
        }
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
            match resp.map(http::Response::from) {
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

/// One POST, ready to go.
struct Post {
    client: reqwest::Client,
    url: Url,
    plain: Option<Arc<(PlainHttpClient, http::Uri)>>,
    headers: HeaderMap,
    body: Bytes,
}

impl Post {
    /// Sends the POST and hands what comes back to the connection.
    async fn exchange(
        self,
        shared: &Arc<Shared>,
        session: &Mutex<Option<HeaderValue>>,
        related: Option<i64>,
        max: usize,
    ) -> Result<(), UpstreamErrorKind> {
        if let Some((plain, uri)) = self.plain.as_deref() {
            let resp = plain
                .post(uri.clone(), self.headers.clone(), self.body.clone())
                .await
                .map_err(|e| UpstreamErrorKind::Connect(e.to_string()))?;
            // hyper does not follow redirects and reqwest does: a server answering with one
            // (it has not taken the request) gets the request again from reqwest, which follows.
            if !resp.status().is_redirection() {
                return handle_post_response(resp, shared, session, related, max).await;
            }
        }
        let resp = self
            .client
            .post(self.url)
            .headers(self.headers)
            .body(self.body)
            .send()
            .await
            .map_err(|e| UpstreamErrorKind::Connect(e.to_string()))?;
        handle_post_response(http::Response::from(resp), shared, session, related, max).await
    }
}

/// The 2026-07-28 routing headers: `Mcp-Method`, and `Mcp-Name` for methods that name a target.
fn routing_headers(msg: &Message) -> Vec<(&'static str, String)> {
    let Message::Request(r) = msg else {
        return Vec::new();
    };
    let mut out = vec![("mcp-method", r.method.clone())];
    let key = match r.method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(name) = key.and_then(|k| moat_proto::object_field::<String>(r.params.as_deref(), k))
    {
        out.push(("mcp-name", moat_proto::header_value::encode(&name)));
    }
    out
}

fn is_sse<B>(r: &http::Response<B>) -> bool {
    r.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

async fn handle_post_response<B>(
    resp: http::Response<B>,
    shared: &Arc<Shared>,
    session: &Mutex<Option<HeaderValue>>,
    related: Option<i64>,
    max: usize,
) -> Result<(), UpstreamErrorKind>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
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
        // Stateless servers answer some JSON-RPC errors with 4xx statuses; such a body is the
        // server's answer to the request, not a transport failure.
        let body = read_limited(resp, max).await.unwrap_or_default();
        if let (Some(id), Ok(Message::Response(r))) = (related, Message::parse(&body))
            && r.id == Some(moat_proto::Id::Num(id))
        {
            shared.dispatch_bytes(&body, related);
            return Ok(());
        }
        let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
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

/// The whole body, refused past `max` bytes. Sized from `Content-Length` up front (within the
/// limit), so a large body is not copied again and again as the buffer doubles.
async fn read_limited<B>(resp: http::Response<B>, max: usize) -> Result<Vec<u8>, UpstreamErrorKind>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let too_large = || UpstreamErrorKind::Protocol(format!("response larger than {max} bytes"));
    let announced = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut stream = resp.into_body();
    let mut body = Vec::with_capacity(announced.unwrap_or(0));
    while let Some(frame) = stream.frame().await {
        let frame =
            frame.map_err(|e| UpstreamErrorKind::Closed(format!("reading response: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads an event stream until it ends; every `message` event is dispatched.
pub(crate) async fn read_sse<B>(
    resp: http::Response<B>,
    shared: &Arc<Shared>,
    related: Option<i64>,
    max: usize,
) -> Result<(), UpstreamErrorKind>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let mut decoder = SseDecoder::new(max);
    let mut stream = resp.into_body();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|e| UpstreamErrorKind::Closed(format!("event stream: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
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
