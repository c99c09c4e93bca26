//! MCP 2026-07-28 (stateless) requests: the checks the revision puts on every request, and the
//! methods that exist only there (`server/discover`, `subscriptions/listen`).

use std::sync::Arc;

use http::HeaderMap;
use moat_proto::{
    ErrorObject, Id, Message, Notification, ProtocolVersion, Request, Response, codes,
    header_value, object_field,
};
use moat_upstream::CallOptions;
use serde_json::{Map, Value, json};

use super::dispatch::raw;
use super::{Cleared, Outbox, Session, error_response};
use crate::federation::lists::ListKind;
use crate::federation::param_headers::value_of;

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// Methods of earlier revisions that 2026-07-28 removed.
const REMOVED: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// The `MCP-*` headers of one HTTP request, kept for the checks below.
#[derive(Debug, Default)]
pub(crate) struct RoutingHeaders {
    /// Lowercase name → every value given (several values are an error).
    values: Vec<(String, Vec<Option<String>>)>,
}

impl RoutingHeaders {
    pub(crate) fn from_http(headers: &HeaderMap) -> Self {
        let mut values: Vec<(String, Vec<Option<String>>)> = Vec::new();
        for (name, value) in headers {
            let name = name.as_str();
            if !name.starts_with("mcp-") {
                continue;
            }
            let v = value.to_str().ok().map(|s| s.trim().to_owned());
            match values.iter_mut().find(|(n, _)| n == name) {
                Some((_, vs)) => vs.push(v),
                None => values.push((name.to_owned(), vec![v])),
            }
        }
        Self { values }
    }

    /// The single value of a header; `Err` when repeated or not visible ASCII.
    fn get(&self, name: &str) -> Result<Option<&str>, String> {
        let Some((_, vs)) = self
            .values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            return Ok(None);
        };
        match vs.as_slice() {
            [Some(v)] => Ok(Some(v)),
            [None] => Err(format!("{name} header contains invalid characters")),
            _ => Err(format!("duplicate {name} header")),
        }
    }
}

fn mismatch(id: &Id, why: impl Into<String>) -> Response {
    error_response(id.clone(), codes::HEADER_MISMATCH, why)
}

/// Which request member a method's `Mcp-Name` header mirrors.
fn name_member(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

impl Session {
    /// Checks a stateless request before anything is forwarded: `_meta`, the version, and that
    /// the routing headers say what the body says. The error responses here all go out with
    /// HTTP 400. On success, the headers to send upstream with the request.
    pub(crate) async fn check_stateless(
        self: &Arc<Self>,
        req: &Request,
        headers: &RoutingHeaders,
    ) -> Result<CallOptions, Response> {
        let id = &req.id;
        let params = req.params.as_deref();
        let meta = object_field::<Map<String, Value>>(params, "_meta");
        let version = meta
            .as_ref()
            .and_then(|m| m.get(META_VERSION))
            .and_then(Value::as_str);
        let capabilities = meta
            .as_ref()
            .and_then(|m| m.get(META_CAPABILITIES))
            .filter(|c| c.is_object());
        let (Some(version), Some(_)) = (version, capabilities) else {
            return Err(error_response(
                id.clone(),
                codes::INVALID_PARAMS,
                format!("Invalid params: _meta must carry {META_VERSION} and {META_CAPABILITIES}"),
            ));
        };
        match headers.get("mcp-protocol-version") {
            Ok(Some(h)) if h == version => {}
            Ok(Some(h)) => {
                return Err(mismatch(
                    id,
                    format!(
                        "MCP-Protocol-Version header {h:?} does not match _meta version {version:?}"
                    ),
                ));
            }
            Ok(None) => return Err(mismatch(id, "missing MCP-Protocol-Version header")),
            Err(e) => return Err(mismatch(id, e)),
        }
        if version
            .parse::<ProtocolVersion>()
            .ok()
            .filter(|v| v.is_stateless())
            .is_none()
        {
            let supported: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
            let e = ErrorObject::new(codes::UNSUPPORTED_VERSION, "Unsupported protocol version")
                .with_data(json!({"requested": version, "supported": supported}));
            return Err(Response::error(Some(id.clone()), &e));
        }
        match headers.get("mcp-method").map_err(|e| mismatch(id, e))? {
            Some(m) if m == req.method => {}
            Some(m) => {
                return Err(mismatch(
                    id,
                    format!(
                        "Mcp-Method header {m:?} does not match body method {:?}",
                        req.method
                    ),
                ));
            }
            None => return Err(mismatch(id, "missing required Mcp-Method header")),
        }
        if let Some(member) = name_member(&req.method)
            && let Some(expected) = object_field::<String>(params, member)
        {
            let given = headers.get("mcp-name").map_err(|e| mismatch(id, e))?;
            let Some(given) = given else {
                return Err(mismatch(
                    id,
                    format!("missing required Mcp-Name header for {}", req.method),
                ));
            };
            let decoded = header_value::decode(given)
                .ok_or_else(|| mismatch(id, "Mcp-Name header is not valid base64"))?;
            if decoded != expected {
                return Err(mismatch(
                    id,
                    format!("Mcp-Name header {decoded:?} does not match body value {expected:?}"),
                ));
            }
        }
        if req.method == "tools/call" {
            return self.check_param_headers(req, headers).await;
        }
        Ok(CallOptions::default())
    }

    /// `Mcp-Param-*` headers must mirror the tool's `x-mcp-header` arguments exactly; the same
    /// headers are then rebuilt for the upstream from the body.
    async fn check_param_headers(
        self: &Arc<Self>,
        req: &Request,
        headers: &RoutingHeaders,
    ) -> Result<CallOptions, Response> {
        let id = &req.id;
        let Some(tool) = object_field::<String>(req.params.as_deref(), "name") else {
            return Ok(CallOptions::default());
        };
        if !self.param_headers.lock().contains_key(&tool) {
            let _ = self
                .list(ListKind::Tools, self.internal_params(), Id::Num(0), None)
                .await;
        }
        let annotations = self
            .param_headers
            .lock()
            .get(&tool)
            .cloned()
            .unwrap_or_default();
        let arguments = object_field::<Value>(req.params.as_deref(), "arguments");
        let mut upstream = Vec::new();
        for a in annotations {
            let header = format!("mcp-param-{}", a.header.to_ascii_lowercase());
            let given = headers.get(&header).map_err(|e| mismatch(id, e))?;
            let body = value_of(arguments.as_ref(), &a.path);
            let prop = a.path.join(".");
            match (given, body) {
                (None, None) => {}
                (Some(_), None) => {
                    return Err(mismatch(
                        id,
                        format!("unexpected Mcp-Param-{} header for absent {prop}", a.header),
                    ));
                }
                (None, Some(_)) => {
                    return Err(mismatch(
                        id,
                        format!("missing Mcp-Param-{} header for {prop}", a.header),
                    ));
                }
                (Some(raw_value), Some(expected)) => {
                    let decoded = header_value::decode(raw_value).ok_or_else(|| {
                        mismatch(
                            id,
                            format!("Mcp-Param-{} header is not valid base64", a.header),
                        )
                    })?;
                    if decoded != expected {
                        return Err(mismatch(
                            id,
                            format!(
                                "Mcp-Param-{} header {decoded:?} does not match body value {expected:?}",
                                a.header
                            ),
                        ));
                    }
                    upstream.push((
                        format!("Mcp-Param-{}", a.header),
                        header_value::encode(&expected),
                    ));
                }
            }
        }
        Ok(CallOptions {
            headers: upstream,
            unbounded: false,
        })
    }

    /// Answers a checked stateless request.
    pub(crate) async fn handle_stateless(
        self: &Arc<Self>,
        mut cleared: Cleared,
        outbox: &Outbox,
        options: &CallOptions,
    ) -> Response {
        let req = &cleared.0.req;
        if REMOVED.contains(&req.method.as_str()) {
            let m = &req.method;
            return error_response(
                req.id.clone(),
                codes::METHOD_NOT_FOUND,
                format!("method not found: {m} is not part of MCP 2026-07-28"),
            );
        }
        match req.method.as_str() {
            "server/discover" => self.discover(cleared.0.req.id).await,
            "subscriptions/listen" => self.listen(cleared.0.req, outbox).await,
            _ => {
                let reseal = cleared.0.reseal.take();
                let response = self.handle_request(cleared, outbox, options).await;
                match reseal {
                    Some(r) => r.apply(&self.gateway.sealer, response),
                    None => response,
                }
            }
        }
    }

    /// `server/discover`: what the federation offers, as one server.
    async fn discover(self: &Arc<Self>, id: Id) -> Response {
        let lives = self.connect_all().await;
        let supported: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
        let mut result = json!({
            "resultType": "complete",
            "supportedVersions": supported,
            "capabilities": self.capabilities(&lives),
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "moat", "version": env!("CARGO_PKG_VERSION")}},
        });
        if let Some(text) = self.instructions(&lives) {
            result["instructions"] = json!(text);
        }
        Response::result(id, raw(&result))
    }

    /// `subscriptions/listen`: moat acknowledges at once, then holds one listen stream open to
    /// every server that can notify, and relays their notifications tagged with the client's id.
    async fn listen(self: &Arc<Self>, req: Request, outbox: &Outbox) -> Response {
        let filter = object_field::<Value>(req.params.as_deref(), "notifications")
            .unwrap_or_else(|| json!({}));
        let ack = json!({"_meta": {"io.modelcontextprotocol/subscriptionId": req.id}, "notifications": filter});
        let ack = Notification::new(ACKNOWLEDGED, Some(raw(&ack))).into();
        let lives = self.connect_all().await;
        let listening: Vec<usize> = lives
            .iter()
            .enumerate()
            .filter(|(_, l)| l.as_ref().is_some_and(|l| can_notify(&l.init)))
            .map(|(i, _)| i)
            .collect();
        // The client's acknowledgement waits for every server's, so that nothing that changes
        // after the client sees it can be missed.
        let (relay, upstream) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(relay_after_acks(
            upstream,
            outbox.clone(),
            ack,
            listening.len(),
        ));
        let options = CallOptions {
            headers: Vec::new(),
            unbounded: true,
        };
        let streams = listening.into_iter().map(|idx| {
            let relay = relay.clone();
            let options = &options;
            let params = req.params.clone();
            let id = &req.id;
            async move {
                let ended = self
                    .forward(idx, "subscriptions/listen", params, id, &relay, options)
                    .await;
                if let Err(e) = ended {
                    tracing::warn!("subscriptions/listen: {e}");
                    // A server that failed will not acknowledge: count it as done.
                    let _ = relay.send(Notification::new(ACKNOWLEDGED, None).into());
                }
            }
        });
        futures::future::join_all(streams).await;
        Response::result(req.id, raw(&json!({"resultType": "complete"})))
    }
}

const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// Whether a server announced anything a listen stream would carry.
fn can_notify(init: &Value) -> bool {
    let caps = init.get("capabilities");
    let flag = |cap: &str, f: &str| {
        caps.and_then(|c| c.get(cap))
            .and_then(|c| c.get(f))
            .and_then(Value::as_bool)
            == Some(true)
    };
    flag("tools", "listChanged")
        || flag("prompts", "listChanged")
        || flag("resources", "listChanged")
        || flag("resources", "subscribe")
}

/// Holds the servers' notifications until all `servers` acknowledged, then sends moat's own
/// acknowledgement first and everything else after it. The servers' acknowledgements stay here.
async fn relay_after_acks(
    mut from: tokio::sync::mpsc::UnboundedReceiver<Message>,
    to: Outbox,
    ack: Message,
    servers: usize,
) {
    let mut acks = 0;
    let mut held = Vec::new();
    let mut ack = Some(ack);
    if servers == 0 {
        let _ = ack.take().map(|a| to.send(a));
    }
    while let Some(msg) = from.recv().await {
        if msg.method() == Some(ACKNOWLEDGED) {
            acks += 1;
            if acks == servers {
                let _ = ack.take().map(|a| to.send(a));
                for m in held.drain(..) {
                    let _ = to.send(m);
                }
            }
        } else if ack.is_some() {
            held.push(msg);
        } else if to.send(msg).is_err() {
            return;
        }
    }
    let _ = ack.take().map(|a| to.send(a));
    for m in held {
        let _ = to.send(m);
    }
}

/// The HTTP status of a stateless answer, per the 2026-07-28 transport.
pub(crate) fn http_status(resp: &moat_proto::Message) -> http::StatusCode {
    let moat_proto::Message::Response(r) = resp else {
        return http::StatusCode::OK;
    };
    let code = r
        .error
        .as_deref()
        .and_then(|e| object_field::<i32>(Some(e), "code"));
    match code {
        Some(
            codes::UNSUPPORTED_VERSION | codes::MISSING_CLIENT_CAPABILITY | codes::HEADER_MISMATCH,
        ) => http::StatusCode::BAD_REQUEST,
        Some(codes::METHOD_NOT_FOUND) => http::StatusCode::NOT_FOUND,
        _ => http::StatusCode::OK,
    }
}
