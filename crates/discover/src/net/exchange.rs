//! The HTTP exchanges of a probe: what is sent to an open port and how its answers are read.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::answer::{self, Identity, MAX_BODY, SseAnswer};
use super::{Evidence, McpServer, McpTransport, ProbeOptions};
use crate::error::Error;

/// What an open port turned out to be.
pub(super) enum Outcome {
    Mcp(McpServer),
    /// An HTTP server; the status of its first answer.
    Http(u16),
    /// No HTTP answer; why.
    NotHttp(String),
}

/// One request's result: no HTTP answer (why), an HTTP answer, or MCP.
enum Step {
    NotHttp(String),
    Http(u16),
    Mcp(McpServer),
}

/// An HTTP answer, read as far as a probe needs.
struct Answered {
    status: u16,
    challenge: Option<String>,
    session: Option<String>,
    /// The JSON-RPC response awaited, if the body held one.
    response: Option<Value>,
}

const INITIALIZE_ID: u64 = 1;
const DISCOVER_ID: u64 = 2;
const STATELESS: &str = "2026-07-28";
const STREAMABLE_PATHS: [&str; 2] = ["/mcp", "/"];

/// The client every probe of one run shares.
pub(super) fn client(options: &ProbeOptions) -> Result<reqwest::Client, Error> {
    // reqwest is built without a crypto provider; the process-wide one may be installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        // Only the addresses the user named: no proxy from the environment, no redirects.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // Thousands of hosts are each asked a few questions: keep no idle connections.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("moat-discover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::Client)
}

/// Asks `base` (`http://host:port`) whether it is an MCP server.
pub(super) async fn identify(client: &reqwest::Client, base: &str) -> Outcome {
    let mut first_status = None;
    for path in STREAMABLE_PATHS {
        match streamable(client, base, path).await {
            Step::Mcp(server) => return Outcome::Mcp(server),
            Step::Http(status) => {
                first_status.get_or_insert(status);
            }
            // Nothing HTTP answered the very first request: ask no more.
            Step::NotHttp(why) if first_status.is_none() => return Outcome::NotHttp(why),
            Step::NotHttp(_) => {}
        }
    }
    match legacy_sse(client, base).await {
        Step::Mcp(server) => Outcome::Mcp(server),
        Step::Http(status) => Outcome::Http(first_status.unwrap_or(status)),
        Step::NotHttp(why) => first_status.map_or(Outcome::NotHttp(why), Outcome::Http),
    }
}

/// Streamable HTTP at `path`: `initialize`, else `server/discover`.
async fn streamable(client: &reqwest::Client, base: &str, path: &str) -> Step {
    let url = format!("{base}{path}");
    let server =
        |evidence, identity| found(&url, path, McpTransport::StreamableHttp, evidence, identity);
    let init = initialize_request();
    let first = match post(client, &url, &init, INITIALIZE_ID, &[]).await {
        Ok(answered) => answered,
        Err(e) => return Step::NotHttp(why_not(&e)),
    };
    if let Some(metadata) = protected(&first) {
        return Step::Mcp(challenged(
            server(Evidence::AuthChallenge, Identity::default()),
            metadata,
        ));
    }
    if let Some(identity) = first
        .response
        .as_ref()
        .and_then(answer::initialize_identity)
    {
        if let Some(session) = &first.session {
            end_session(client, &url, session, identity.protocol_version.as_deref()).await;
        }
        return Step::Mcp(server(Evidence::Initialize, identity));
    }
    let headers = [
        ("mcp-protocol-version", STATELESS),
        ("mcp-method", "server/discover"),
    ];
    if let Ok(second) = post(client, &url, &discover_request(), DISCOVER_ID, &headers).await {
        if let Some(metadata) = protected(&second) {
            let found = server(Evidence::AuthChallenge, Identity::default());
            return Step::Mcp(challenged(found, metadata));
        }
        if let Some(identity) = second.response.as_ref().and_then(answer::discover_identity) {
            return Step::Mcp(server(Evidence::ServerDiscover, identity));
        }
    }
    Step::Http(first.status)
}

/// Legacy HTTP+SSE: `GET /sse`, an `endpoint` event, then `initialize` posted there.
async fn legacy_sse(client: &reqwest::Client, base: &str) -> Step {
    let url = format!("{base}/sse");
    let sent = client
        .get(&url)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => return Step::NotHttp(why_not(&e)),
    };
    let status = resp.status().as_u16();
    let server = |evidence, identity| found(&url, "/sse", McpTransport::Sse, evidence, identity);
    if status == 401
        && let Some(metadata) = challenge_of(resp.headers())
    {
        let protected = server(Evidence::AuthChallenge, Identity::default());
        return Step::Mcp(challenged(protected, metadata));
    }
    if !(resp.status().is_success() && answer::is_event_stream(&content_type(resp.headers()))) {
        return Step::Http(status);
    }
    match follow_stream(client, &url, resp).await {
        None => Step::Http(status),
        Some(None) => Step::Mcp(server(Evidence::EndpointEvent, Identity::default())),
        Some(Some(identity)) => Step::Mcp(server(Evidence::Initialize, identity)),
    }
}

/// Reads a legacy event stream: `None` without an `endpoint` event; with one, the identity
/// its server gives in answer to `initialize` posted to that endpoint, if it does.
async fn follow_stream(
    client: &reqwest::Client,
    url: &str,
    mut resp: reqwest::Response,
) -> Option<Option<Identity>> {
    let mut decoder = moat_upstream::SseDecoder::new(MAX_BODY);
    let mut read = 0usize;
    let mut posted = false;
    while read < 4 * MAX_BODY {
        let Ok(Some(chunk)) = resp.chunk().await else {
            break;
        };
        read += chunk.len();
        let Ok(events) = decoder.feed(&chunk) else {
            break;
        };
        let identity = events
            .iter()
            .filter_map(|e| answer::event_answer(e, INITIALIZE_ID))
            .find_map(|r| answer::initialize_identity(&r));
        if identity.is_some() {
            return Some(identity);
        }
        if posted {
            continue;
        }
        let Some(endpoint) = answer::endpoint_event(&events) else {
            continue;
        };
        posted = true;
        // The answer comes on the stream being read. Only a same-origin endpoint is posted to:
        // otherwise the endpoint event alone is the evidence.
        let Some(target) = same_origin(url, &endpoint) else {
            return Some(None);
        };
        let request = client
            .post(target)
            .header(CONTENT_TYPE, "application/json")
            .body(initialize_request().to_string());
        if request.send().await.is_err() {
            return Some(None);
        }
    }
    posted.then_some(None)
}

/// A server found at `url`.
fn found(
    url: &str,
    path: &str,
    transport: McpTransport,
    evidence: Evidence,
    identity: Identity,
) -> McpServer {
    McpServer {
        url: url.to_owned(),
        path: path.to_owned(),
        transport,
        evidence,
        name: identity.name,
        version: identity.version,
        protocol_version: identity.protocol_version,
        protected: false,
        resource_metadata: None,
    }
}

/// POSTs a JSON-RPC request and reads the answer with id `id` from a JSON or SSE body.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    id: u64,
    headers: &[(&str, &str)],
) -> Result<Answered, reqwest::Error> {
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut resp = request.send().await?;
    let mut answered = Answered {
        status: resp.status().as_u16(),
        challenge: challenge_of(resp.headers()),
        session: resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        response: None,
    };
    let kind = content_type(resp.headers());
    if answer::is_event_stream(&kind) {
        // An SSE answer may stay open after the response: stop at the response.
        let mut stream = SseAnswer::new(id);
        let mut read = 0usize;
        while read < MAX_BODY {
            let Ok(Some(chunk)) = resp.chunk().await else {
                break;
            };
            read += chunk.len();
            match stream.feed(&chunk) {
                Ok(Some(found)) => {
                    answered.response = Some(found);
                    break;
                }
                Ok(None) => {}
                Err(()) => break,
            }
        }
    } else if answer::is_json(&kind) {
        let mut body = Vec::new();
        while body.len() < MAX_BODY {
            let Ok(Some(chunk)) = resp.chunk().await else {
                break;
            };
            body.extend_from_slice(&chunk);
        }
        answered.response = answer::json_answer(&body, id);
    }
    Ok(answered)
}

/// Ends the session a probe's `initialize` opened, so probing leaves nothing behind.
async fn end_session(client: &reqwest::Client, url: &str, session: &str, version: Option<&str>) {
    let mut request = client.delete(url).header("mcp-session-id", session);
    if let Some(v) = version {
        request = request.header("mcp-protocol-version", v);
    }
    let _ = request.send().await;
}

fn initialize_request() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": INITIALIZE_ID,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "moat-discover", "version": env!("CARGO_PKG_VERSION")},
        },
    })
}

fn discover_request() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": DISCOVER_ID,
        "method": "server/discover",
        "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": STATELESS,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "moat-discover", "version": env!("CARGO_PKG_VERSION")},
        }},
    })
}

/// The `resource_metadata` of a 401 answer's challenge.
fn protected(answered: &Answered) -> Option<String> {
    if answered.status == 401 {
        answered.challenge.clone()
    } else {
        None
    }
}

fn challenge_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(answer::resource_metadata)
}

fn challenged(mut server: McpServer, metadata: String) -> McpServer {
    server.protected = true;
    server.resource_metadata = Some(metadata);
    server
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Why a request got no HTTP answer, in a few words: the causes under reqwest's own message
/// (which only repeats the URL), e.g. `received unexpected message from connection` or a TLS
/// certificate error.
fn why_not(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer before the timeout".to_owned();
    }
    let mut causes = Vec::new();
    let mut cause = std::error::Error::source(e);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        cause = inner.source();
    }
    if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    }
}

/// `endpoint` resolved against `base`, if it stays on the same scheme, host and port.
fn same_origin(base: &str, endpoint: &str) -> Option<url::Url> {
    let base = url::Url::parse(base).ok()?;
    let joined = base.join(endpoint).ok()?;
    (joined.origin() == base.origin()).then_some(joined)
}
