//! A client session: its protocol generation, one connection per upstream server, and the routing
//! of messages between them.
//!
//! A session-based client (2025 revisions) gets its own `Session` with its own upstream sessions,
//! so server-initiated requests and subscriptions stay with the client that caused them. Stateless
//! clients (2026-07-28) share one stateless `Session` whose upstream connections carry no
//! per-client state.

mod admit;
mod approval;
mod authorize;
mod catalog;
mod dispatch;
mod egress;
mod events;
mod guardrail;
mod inspect;
mod profiles;
mod rate;
mod routes;
mod slot;
mod stateless;
mod validate;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use moat_proto::{
    ErrorObject, Id, Message, ProtocolVersion, RawValue, Response, codes, object_field, with_field,
};
use moat_upstream::{Inbound, UpstreamError};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::{Value, json};

pub(crate) use approval::Sealer;
pub(crate) use authorize::{Authorized, Cleared, Refused};
pub(crate) use egress::Egress;
pub(crate) use events::{EventLog, frame};
pub(crate) use guardrail::Guardrails;
pub(crate) use profiles::GuardProfiles;
pub(crate) use rate::RateLimits;
pub(crate) use routes::Outbox;
use routes::{Pending, Route, Routes};
pub(crate) use slot::moat_request_meta;
use slot::{Live, Slot};
pub(crate) use stateless::{RoutingHeaders, http_status};
pub(crate) use validate::SchemaCache;

use crate::auth::Caller;
use crate::federation::initialize::{merge_capabilities, merge_instructions};
use crate::federation::lists::ListKind;
use crate::federation::names::Names;
use crate::federation::param_headers::ParamHeader;
use crate::state::GatewayState;

/// Which protocol generation a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 2025 revisions: `initialize`, `Mcp-Session-Id`, server-initiated requests.
    Stateful,
    /// 2026-07-28: every request stands alone.
    Stateless,
}

pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    /// Who opened the session: only the same caller may use it.
    pub(crate) owner: Caller,
    pub(crate) version: ProtocolVersion,
    pub(crate) mode: Mode,
    pub(crate) gateway: Arc<GatewayState>,
    names: Names,
    slots: Vec<Slot>,
    routes: Routes,
    /// The GET stream's sender and its id in the event log.
    get_stream: Mutex<Option<GetStream>>,
    /// Numbered events of this session's SSE streams, for `Last-Event-ID` resumption.
    pub(crate) events: Arc<EventLog>,
    /// The client's `initialize` params, with the negotiated version: replayed on reconnects.
    init_params: Value,
    initialized: AtomicBool,
    /// Unprefixed names seen in lists → (server, name there), for federations without prefixes.
    index: Mutex<HashMap<(ListKind, String), (usize, String)>>,
    /// Tools' `x-mcp-header` arguments by the name the client sees.
    param_headers: Mutex<HashMap<String, Vec<ParamHeader>>>,
    /// What tools' listings said of them, by the name the client sees.
    tools: Mutex<HashMap<String, ToolFacts>>,
    /// The tool (server, its name) of each task a task-augmented call started, by task id, so
    /// `tasks/result` is inspected as that tool's result.
    task_targets: Mutex<HashMap<String, (usize, String)>>,
    next_token: AtomicU64,
    /// Per server, the lists it said changed since this session last read them (bits by
    /// kind): the catalog stage lists them again before judging a call.
    stale: Vec<std::sync::atomic::AtomicU8>,
    /// Held while such a list is read again, so concurrent calls wait for one listing.
    relisting: tokio::sync::Mutex<()>,
    /// When the client last used the session, in ms since the gateway started.
    last_seen: AtomicU64,
}

impl Session {
    fn new(
        gateway: Arc<GatewayState>,
        mode: Mode,
        version: ProtocolVersion,
        init_params: Value,
        owner: Caller,
    ) -> Arc<Self> {
        let config = gateway.config.load_full();
        let session = Arc::new(Self {
            id: new_session_id().into(),
            owner,
            version,
            mode,
            names: Names::new(&config),
            slots: config
                .upstreams
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, c)| Slot::new(i, c))
                .collect(),
            gateway,
            routes: Routes::default(),
            get_stream: Mutex::new(None),
            events: Arc::default(),
            init_params,
            initialized: AtomicBool::new(mode == Mode::Stateless),
            index: Mutex::new(HashMap::new()),
            param_headers: Mutex::new(HashMap::new()),
            tools: Mutex::new(HashMap::new()),
            task_targets: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
            stale: config
                .upstreams
                .iter()
                .map(|_| Default::default())
                .collect(),
            relisting: tokio::sync::Mutex::new(()),
            last_seen: AtomicU64::new(0),
        });
        session.touch();
        session
    }

    /// The session every stateless request shares; upstreams are reached on first use.
    pub(crate) fn stateless(gateway: Arc<GatewayState>) -> Arc<Self> {
        Self::new(
            gateway,
            Mode::Stateless,
            ProtocolVersion::V2026_07_28,
            json!({}),
            Caller::default(),
        )
    }

    /// Handles `initialize`: connects to every upstream at once and merges what they offer.
    /// A server that fails is left out (and retried later); the session still starts.
    pub(crate) async fn start(
        gateway: Arc<GatewayState>,
        params: Option<&RawValue>,
        owner: Caller,
    ) -> Result<(Arc<Self>, Value), ErrorObject> {
        let requested: String = object_field(params, "protocolVersion").ok_or_else(|| {
            ErrorObject::new(
                codes::INVALID_PARAMS,
                "initialize needs params.protocolVersion",
            )
        })?;
        let version = ProtocolVersion::negotiate(&requested);
        let mut init_params: Value = params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_else(|| json!({}));
        init_params["protocolVersion"] = json!(version.as_str());
        let session = Self::new(gateway, Mode::Stateful, version, init_params, owner);
        let lives = session.connect_all().await;
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": session.capabilities(&lives),
            "serverInfo": {"name": "moat", "version": env!("CARGO_PKG_VERSION")},
        });
        if let Some(text) = session.instructions(&lives) {
            result["instructions"] = json!(text);
        }
        Ok((session, result))
    }

    /// Every upstream, connected (or not) concurrently.
    async fn connect_all(self: &Arc<Self>) -> Vec<Option<Arc<Live>>> {
        let lives = futures::future::join_all(self.slots.iter().map(|s| s.live(self))).await;
        lives.into_iter().map(Result::ok).collect()
    }

    fn capabilities(&self, lives: &[Option<Arc<Live>>]) -> Value {
        merge_capabilities(
            lives
                .iter()
                .flatten()
                .filter_map(|l| l.init.get("capabilities")),
        )
    }

    fn instructions(&self, lives: &[Option<Arc<Live>>]) -> Option<String> {
        let named = lives
            .iter()
            .zip(&self.slots)
            .filter_map(|(l, s)| Some((s.cfg.name.as_str(), &l.as_ref()?.init)));
        merge_instructions(named)
    }

    /// Records that the client used the session now.
    pub(crate) fn touch(&self) {
        self.last_seen
            .store(self.gateway.uptime_ms(), Ordering::Relaxed);
    }

    /// Whether the client has neither used the session for `limit` nor holds its GET stream open.
    pub(crate) fn idle_longer_than(&self, limit: std::time::Duration) -> bool {
        let listening = match self.get_stream.lock().as_ref() {
            Some(GetStream {
                log_id: Some(sid), ..
            }) => self.events.has_subscriber(*sid),
            Some(GetStream {
                outbox,
                log_id: None,
            }) => !outbox.is_closed(),
            None => false,
        };
        let idle = self
            .gateway
            .uptime_ms()
            .saturating_sub(self.last_seen.load(Ordering::Relaxed));
        !listening && u128::from(idle) > limit.as_millis()
    }

    pub(crate) fn client_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    pub(crate) fn upstream_init_params(&self) -> Option<Box<RawValue>> {
        serde_json::value::to_raw_value(&self.init_params).ok()
    }

    /// Opens the stream for messages that belong to no request (replacing an older one) and
    /// returns the client's end of it.
    pub(crate) fn open_get_stream(&self) -> tokio::sync::mpsc::UnboundedReceiver<bytes::Bytes> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let source = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        let (sid, frames) = self.events.start(source, self.primes_streams());
        *self.get_stream.lock() = Some(GetStream {
            outbox: tx,
            log_id: Some(sid),
        });
        frames
    }

    /// Whether this session's SSE streams start with a priming event (2025-11-25 and later).
    pub(crate) fn primes_streams(&self) -> bool {
        self.version >= ProtocolVersion::V2025_11_25
    }

    /// Makes `outbox` (a legacy SSE connection, which carries everything) the session's stream.
    pub(crate) fn attach_stream(&self, outbox: Outbox) {
        *self.get_stream.lock() = Some(GetStream {
            outbox,
            log_id: None,
        });
    }

    fn get_outbox(&self) -> Option<Outbox> {
        self.get_stream.lock().as_ref().map(|g| g.outbox.clone())
    }

    /// Sends one request to upstream `idx` and waits for its answer, routing whatever the server
    /// sends meanwhile to `outbox`. If this future is dropped (the client went away) the upstream
    /// request is cancelled.
    async fn forward(
        self: &Arc<Self>,
        idx: usize,
        method: &str,
        mut params: Option<Box<RawValue>>,
        downstream_id: &Id,
        outbox: &Outbox,
        options: &moat_upstream::CallOptions,
    ) -> Result<Response, UpstreamError> {
        let _permit = self.in_flight_permit(idx).await?;
        let live = self.slots[idx].live(self).await?;
        let meta = object_field::<serde_json::Map<String, Value>>(params.as_deref(), "_meta");
        let client_token = meta.as_ref().and_then(|m| m.get("progressToken")).cloned();
        let (upstream_token, client_token) = match (client_token, self.mode) {
            (None, _) => (None, None),
            (Some(t), Mode::Stateful) => (Some(t.to_string()), None),
            // Stateless clients share the upstream connection: give each request its own token.
            (Some(t), Mode::Stateless) => {
                let ours = json!(format!(
                    "moat-{}",
                    self.next_token.fetch_add(1, Ordering::Relaxed)
                ));
                let mut meta = meta.unwrap_or_default();
                meta.insert("progressToken".into(), ours.clone());
                let raw_meta = serde_json::value::to_raw_value(&meta).ok();
                params = match (params, raw_meta) {
                    (Some(p), Some(m)) => with_field(&p, "_meta", &m).or(Some(p)),
                    (p, _) => p,
                };
                (
                    Some(ours.to_string()),
                    serde_json::value::to_raw_value(&t).ok(),
                )
            }
        };
        // The route exists before the request leaves, so nothing the server sends about it is lost.
        let upstream_id = live.conn.allocate_id();
        let route = Route {
            outbox: outbox.clone(),
            downstream_id: downstream_id.clone(),
            upstream_token,
            client_token,
        };
        self.routes.add(idx, upstream_id, route);
        let mut guard = RouteGuard {
            session: self,
            live: &live,
            idx,
            upstream_id,
            finished: false,
        };
        let call = live.conn.call_as(upstream_id, method, params, options)?;
        let result = call.wait().await;
        guard.finished = true;
        result
    }

    /// A slot for one more request to upstream `idx`, waiting up to its timeout when it has a
    /// `max_concurrency` and that many are in flight.
    async fn in_flight_permit(
        &self,
        idx: usize,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, UpstreamError> {
        let Some(slots) = self.gateway.in_flight.get(idx).cloned().flatten() else {
            return Ok(None);
        };
        let cfg = &self.slots[idx].cfg;
        let busy = || {
            let limit = cfg.max_concurrency.map_or(0, std::num::NonZeroU32::get);
            UpstreamError::busy(&cfg.name, limit, cfg.timeout)
        };
        match tokio::time::timeout(cfg.timeout, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // Timed out, or the semaphore was closed (it never is).
            _ => Err(busy()),
        }
    }

    /// A server-initiated message from upstream `idx`.
    pub(crate) fn on_upstream_message(&self, idx: usize, event: Inbound) {
        let (msg, route) = match event {
            Inbound::Request { request, .. } if self.mode == Mode::Stateless => {
                tracing::warn!(server = self.names.server(idx), method = %request.method, "stateless server sent a request; dropped");
                return;
            }
            Inbound::Request {
                mut request,
                related,
            } => {
                let sampling = request.method == "sampling/createMessage";
                if sampling && let Err(refusal) = self.guard_sampling(idx, &mut request) {
                    // What the model may not see is not sent: the server gets the refusal.
                    if let Some(live) = self.slots[idx].current() {
                        let _ = live.conn.respond(refusal);
                    }
                    return;
                }
                let route = self.routes.target(idx, related, None);
                let id = self
                    .routes
                    .register_server_request(idx, request.id.clone(), sampling);
                request.id = Id::Num(id);
                (Message::from(request), route)
            }
            Inbound::Notification {
                notification,
                related,
            } => {
                self.note_list_changed(idx, &notification.method);
                let params = notification.params.as_deref();
                let token = object_field::<Value>(params, "progressToken").map(|t| t.to_string());
                let subscription = object_field::<Value>(params, "_meta").and_then(|m| {
                    m.get("io.modelcontextprotocol/subscriptionId")
                        .and_then(Value::as_i64)
                });
                let route = self
                    .routes
                    .target(idx, related.or(subscription), token.as_deref());
                match self.rewrite_notification(idx, notification, route.as_ref()) {
                    Some(n) => (Message::from(n), route),
                    None => return,
                }
            }
            Inbound::Response(_) | Inbound::Closed(_) => return,
        };
        let outbox = route.map(|r| r.outbox).or_else(|| self.get_outbox());
        match outbox {
            Some(outbox) if outbox.send(msg).is_ok() => {}
            _ => {
                tracing::debug!(session = %self.id, server = self.names.server(idx), "no open client stream; message dropped")
            }
        }
    }

    /// An upstream connection ended: its entries leave the lists, which the client is told.
    pub(crate) fn upstream_closed(&self, idx: usize, generation: u64, error: UpstreamError) {
        if !self.slots[idx].closed(generation, error) {
            return;
        }
        let Some(get) = self.get_outbox() else {
            return;
        };
        for kind in ["tools", "prompts", "resources"] {
            let n =
                moat_proto::Notification::new(format!("notifications/{kind}/list_changed"), None);
            let _ = get.send(n.into());
        }
    }

    /// A client's answer to a server-initiated request goes back to that server under its own id.
    pub(crate) fn client_response(&self, response: Response) {
        let Some(Id::Num(id)) = response.id else {
            return;
        };
        let (idx, upstream_id, response) = match self.routes.take_server_request(id) {
            Some(Pending::Upstream(idx, upstream_id, sampling)) => {
                let response = if sampling {
                    self.guard_sampled(idx, response)
                } else {
                    response
                };
                (idx, upstream_id, response)
            }
            Some(Pending::Moat(waiting)) => {
                // The waiting call may have given up meanwhile; then the answer is moot.
                let _ = waiting.send(response);
                return;
            }
            None => {
                tracing::debug!(session = %self.id, id, "client answered a request moat did not send");
                return;
            }
        };
        let delivered = self.slots[idx]
            .current()
            .map(|live| live.conn.respond(response.with_id(upstream_id)));
        if let Some(Err(e)) = delivered {
            tracing::warn!(session = %self.id, "cannot deliver the client's answer: {e}");
        }
    }
}

/// What a tool's listing said of it, for the stages that judge its calls.
#[derive(Debug, Clone, Default)]
pub(super) struct ToolFacts {
    /// Its annotations, as the policy reads them.
    pub(super) hints: moat_policy::Hints,
    /// Its `inputSchema` as the server wrote it.
    pub(super) schema: Option<Arc<str>>,
}

/// The stream for messages that belong to no request.
struct GetStream {
    outbox: Outbox,
    /// Its id in the event log; `None` for a legacy SSE connection, which is not resumable.
    log_id: Option<u64>,
}

/// Removes a request's route when its forwarding ends, and cancels it upstream if it ended early.
struct RouteGuard<'a> {
    session: &'a Session,
    live: &'a Live,
    idx: usize,
    upstream_id: i64,
    finished: bool,
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        self.session.routes.remove(self.idx, self.upstream_id);
        if !self.finished {
            self.live
                .conn
                .cancel(self.upstream_id, "the client went away");
        }
    }
}

/// 128 random bits as 32 hex digits: visible ASCII, as the spec requires, and unguessable.
pub(crate) fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON-RPC error response for request `id`.
pub(crate) fn error_response(id: Id, code: i32, message: impl Into<String>) -> Response {
    Response::error(Some(id), &ErrorObject::new(code, message))
}
