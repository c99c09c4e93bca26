//! A client session: its negotiated version, one connection per upstream server, and the routing
//! of messages between them.

mod dispatch;
mod routes;
mod slot;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use moat_proto::{
    ErrorObject, Id, Message, ProtocolVersion, RawValue, Response, codes, object_field,
};
use moat_upstream::{Inbound, UpstreamError};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::{Value, json};

pub(crate) use routes::Outbox;
use routes::{Route, Routes};
use slot::Slot;

use crate::federation::initialize::{merge_capabilities, merge_instructions};
use crate::federation::lists::ListKind;
use crate::federation::names::Names;
use crate::state::GatewayState;

pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    pub(crate) version: ProtocolVersion,
    pub(crate) gateway: Arc<GatewayState>,
    names: Names,
    slots: Vec<Slot>,
    routes: Routes,
    get_stream: Mutex<Option<Outbox>>,
    /// The client's `initialize` params, with the negotiated version: replayed on reconnects.
    init_params: Value,
    initialized: AtomicBool,
    /// Unprefixed names seen in lists → (server, name there), for federations without prefixes.
    index: Mutex<HashMap<(ListKind, String), (usize, String)>>,
}

impl Session {
    /// Handles `initialize`: connects to every upstream at once and merges what they offer.
    /// A server that fails is left out (and retried later); the session still starts.
    pub(crate) async fn start(
        gateway: Arc<GatewayState>,
        params: Option<&RawValue>,
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
        let config = gateway.config.load_full();
        let session = Arc::new(Self {
            id: new_session_id().into(),
            version,
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
            init_params,
            initialized: AtomicBool::new(false),
            index: Mutex::new(HashMap::new()),
        });
        let lives = futures::future::join_all(session.slots.iter().map(|s| s.live(&session))).await;
        let up: Vec<(&str, Value)> = lives
            .iter()
            .zip(&session.slots)
            .filter_map(|(l, s)| Some((s.cfg.name.as_str(), l.as_ref().ok()?.init.clone())))
            .collect();
        let capabilities = merge_capabilities(up.iter().filter_map(|(_, i)| i.get("capabilities")));
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": capabilities,
            "serverInfo": {"name": "moat", "version": env!("CARGO_PKG_VERSION")},
        });
        if let Some(text) = merge_instructions(up.iter().map(|(n, i)| (*n, i))) {
            result["instructions"] = json!(text);
        }
        Ok((session, result))
    }

    pub(crate) fn client_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    pub(crate) fn upstream_init_params(&self) -> Option<Box<RawValue>> {
        serde_json::value::to_raw_value(&self.init_params).ok()
    }

    /// Makes `outbox` the stream for messages that belong to no request.
    pub(crate) fn set_get_stream(&self, outbox: Outbox) {
        *self.get_stream.lock() = Some(outbox);
    }

    /// Sends one request to upstream `idx` and waits for its answer, routing whatever the server
    /// sends meanwhile to `outbox`.
    async fn forward(
        self: &Arc<Self>,
        idx: usize,
        method: &str,
        params: Option<Box<RawValue>>,
        downstream_id: &Id,
        outbox: &Outbox,
    ) -> Result<Response, UpstreamError> {
        let live = self.slots[idx].live(self).await?;
        let progress_token = object_field::<Value>(params.as_deref(), "_meta")
            .and_then(|m| m.get("progressToken").map(Value::to_string));
        let call = live.conn.call(method, params)?;
        let upstream_id = call.id;
        let route = Route {
            outbox: outbox.clone(),
            downstream_id: downstream_id.clone(),
            progress_token,
        };
        self.routes.add(idx, upstream_id, route);
        // Removed however this future ends, including when the client goes away mid-call.
        let _cleanup = RouteGuard {
            session: self,
            idx,
            upstream_id,
        };
        call.wait().await
    }

    /// A server-initiated message from upstream `idx`.
    pub(crate) fn on_upstream_message(&self, idx: usize, event: Inbound) {
        let (msg, target) = match event {
            Inbound::Request {
                mut request,
                related,
            } => {
                let target = self.routes.target(idx, related, None);
                let id = self.routes.register_server_request(idx, request.id.clone());
                request.id = Id::Num(id);
                (Message::from(request), target)
            }
            Inbound::Notification {
                notification,
                related,
            } => {
                let token = object_field::<Value>(notification.params.as_deref(), "progressToken")
                    .map(|t| t.to_string());
                let target = self.routes.target(idx, related, token.as_deref());
                match self.rewrite_notification(idx, notification) {
                    Some(n) => (Message::from(n), target),
                    None => return,
                }
            }
            Inbound::Closed(_) => return,
        };
        let target = target.or_else(|| self.get_stream.lock().clone());
        match target {
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
        let Some(get) = self.get_stream.lock().clone() else {
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
        let Some((idx, upstream_id)) = self.routes.take_server_request(id) else {
            tracing::debug!(session = %self.id, id, "client answered a request moat did not send");
            return;
        };
        let delivered = self.slots[idx]
            .current()
            .map(|live| live.conn.respond(response.with_id(upstream_id)));
        if let Some(Err(e)) = delivered {
            tracing::warn!(session = %self.id, "cannot deliver the client's answer: {e}");
        }
    }
}

struct RouteGuard<'a> {
    session: &'a Session,
    idx: usize,
    upstream_id: i64,
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        self.session.routes.remove(self.idx, self.upstream_id);
    }
}

/// 128 random bits as 32 hex digits: visible ASCII, as the spec requires, and unguessable.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON-RPC error response for request `id`.
pub(crate) fn error_response(id: Id, code: i32, message: impl Into<String>) -> Response {
    Response::error(Some(id), &ErrorObject::new(code, message))
}
