//! moat's own view of each server's definitions, independent of clients: one connection per
//! upstream that lists everything at start, again on every `list_changed` and every
//! `catalog.refresh`, and after a reconnect; plus a poll of the store for decisions taken by
//! another process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use moat_catalog::Kind;
use moat_config::UpstreamConfig;
use moat_proto::{Notification, ProtocolVersion, RawValue};
use moat_upstream::{Connection, Inbound, UpstreamError, UpstreamErrorKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::state::GatewayState;

/// How often the store is asked whether the catalog changed.
const STORE_POLL: Duration = Duration::from_secs(1);
/// Pages read of one listing: enough for any real server, bounded for a hostile one.
const MAX_PAGES: usize = 50;
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Runs until the gateway stops: a watcher per upstream, and the store poll.
pub(crate) async fn watch(state: Arc<GatewayState>) {
    let Some(catalog) = state.catalog.clone() else {
        return;
    };
    let config = state.config.load_full();
    let mut watchers = tokio::task::JoinSet::new();
    for (idx, up) in config.upstreams.iter().enumerate() {
        watchers.spawn(watch_server(
            state.clone(),
            idx,
            up.clone(),
            config.catalog_refresh,
        ));
    }
    loop {
        tokio::time::sleep(STORE_POLL).await;
        if let Err(e) = catalog.refresh().await {
            tracing::error!("cannot read the catalog: {e}");
        }
    }
}

/// Follows one server for the gateway's life, reconnecting with backoff.
async fn watch_server(
    state: Arc<GatewayState>,
    idx: usize,
    cfg: UpstreamConfig,
    refresh: Duration,
) {
    let mut failures: u32 = 0;
    loop {
        let error = follow(&state, idx, &cfg, refresh, &mut failures).await;
        failures = failures.saturating_add(1);
        let wait = Duration::from_millis(500)
            .saturating_mul(1 << failures.min(7))
            .min(BACKOFF_MAX);
        tracing::debug!(server = %cfg.name, retry_in = ?wait, "catalog watcher: {}", error.kind);
        tokio::time::sleep(wait).await;
    }
}

/// Connects, lists everything, then lists again whenever told to; returns why it stopped.
async fn follow(
    state: &GatewayState,
    idx: usize,
    cfg: &UpstreamConfig,
    refresh: Duration,
    failures: &mut u32,
) -> UpstreamError {
    let (conn, inbound) = match Connection::connect(cfg, &state.connect).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let (changed_tx, mut changed) = mpsc::unbounded_channel();
    let mut pump = tokio::spawn(pump(inbound, conn.completer(), changed_tx));
    let session = match handshake(&conn, cfg).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    *failures = 0;
    let kinds: Vec<Kind> = [Kind::Tool, Kind::Prompt, Kind::ResourceTemplate]
        .into_iter()
        .filter(|k| session.offers(*k))
        .collect();
    for kind in &kinds {
        relist(state, idx, &conn, &session, *kind).await;
    }
    loop {
        tokio::select! {
            kind = changed.recv() => match kind {
                Some(kind) => relist(state, idx, &conn, &session, kind).await,
                None => break,
            },
            () = tokio::time::sleep(refresh) => {
                for kind in &kinds {
                    relist(state, idx, &conn, &session, *kind).await;
                }
            }
            _ = &mut pump => break,
        }
    }
    UpstreamError {
        server: cfg.name.clone(),
        kind: UpstreamErrorKind::Closed("the catalog watcher's connection ended".into()),
    }
}

/// What the server said at the handshake.
struct Handshake {
    capabilities: Value,
    /// Requests need `_meta` (a 2026-07-28 server without sessions).
    stateless: bool,
}

impl Handshake {
    fn offers(&self, kind: Kind) -> bool {
        let capability = match kind {
            Kind::Tool => "tools",
            Kind::Prompt => "prompts",
            Kind::ResourceTemplate => "resources",
        };
        self.capabilities.get(capability).is_some()
    }
}

/// `initialize` as a 2025-11-25 client, else `server/discover` for a server that only speaks
/// the stateless revision.
async fn handshake(conn: &Connection, cfg: &UpstreamConfig) -> Result<Handshake, UpstreamError> {
    let params = json!({
        "protocolVersion": ProtocolVersion::V2025_11_25.as_str(),
        "capabilities": {},
        "clientInfo": {"name": "moat-catalog", "version": env!("CARGO_PKG_VERSION")},
    });
    let answer = call(conn, "initialize", raw(&params)).await;
    if let Ok(init) = answer {
        let version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        conn.notify(Notification::new("notifications/initialized", None))?;
        conn.set_protocol_version(version);
        conn.open_listen_stream();
        return Ok(Handshake {
            capabilities: init.get("capabilities").cloned().unwrap_or_default(),
            stateless: false,
        });
    }
    conn.set_protocol_version(ProtocolVersion::V2026_07_28.as_str());
    let found = call(conn, "server/discover", crate::session::moat_request_meta()).await?;
    tracing::debug!(server = %cfg.name, "catalog watcher: stateless server");
    Ok(Handshake {
        capabilities: found.get("capabilities").cloned().unwrap_or_default(),
        stateless: true,
    })
}

/// Lists every page of `kind` and compares it with the pins.
async fn relist(
    state: &GatewayState,
    idx: usize,
    conn: &Connection,
    session: &Handshake,
    kind: Kind,
) {
    let Some(catalog) = &state.catalog else {
        return;
    };
    let entries = match list_all(conn, session, kind).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(
                server = catalog_name(state, idx),
                "catalog watcher: {}",
                e.kind
            );
            return;
        }
    };
    let refs: Vec<&RawValue> = entries.iter().map(AsRef::as_ref).collect();
    let names = catalog.observe(idx, kind, &refs).await;
    catalog.listed_all(idx, kind, &names).await;
}

/// Every entry of a server's listing of `kind`, as the server wrote it (all pages, bounded).
async fn list_all(
    conn: &Connection,
    session: &Handshake,
    kind: Kind,
) -> Result<Vec<Box<RawValue>>, UpstreamError> {
    let (method, key) = match kind {
        Kind::Tool => ("tools/list", "tools"),
        Kind::Prompt => ("prompts/list", "prompts"),
        Kind::ResourceTemplate => ("resources/templates/list", "resourceTemplates"),
    };
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut params = serde_json::Map::new();
        if let Some(c) = &cursor {
            params.insert("cursor".into(), json!(c));
        }
        if session.stateless
            && let Some(meta) = crate::session::moat_request_meta()
            && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(meta.get())
        {
            params.extend(m);
        }
        let result = call(conn, method, raw(&Value::Object(params))).await?;
        let page: HashMap<String, Box<RawValue>> =
            serde_json::from_value(result).unwrap_or_default();
        let entries: Vec<Box<RawValue>> = page
            .get(key)
            .and_then(|l| serde_json::from_str(l.get()).ok())
            .unwrap_or_default();
        all.extend(entries);
        cursor = page
            .get("nextCursor")
            .and_then(|c| serde_json::from_str::<String>(c.get()).ok());
        if cursor.is_none() {
            return Ok(all);
        }
    }
    Err(UpstreamError {
        server: conn.name().clone(),
        kind: UpstreamErrorKind::Protocol(format!("{method}: more than {MAX_PAGES} pages")),
    })
}

/// Connects to one server as moat does and returns its tools, prompts and resource templates
/// (for `moat scan`): what an agent would be shown.
pub(crate) async fn definitions(
    cfg: &UpstreamConfig,
    connect: &moat_upstream::ConnectOptions,
) -> Result<Vec<(Kind, Value)>, UpstreamError> {
    let (conn, inbound) = Connection::connect(cfg, connect).await?;
    let (changed, _) = mpsc::unbounded_channel();
    let pump = tokio::spawn(pump(inbound, conn.completer(), changed));
    let session = handshake(&conn, cfg).await?;
    let mut found = Vec::new();
    for kind in [Kind::Tool, Kind::Prompt, Kind::ResourceTemplate] {
        if session.offers(kind) {
            for entry in list_all(&conn, &session, kind).await? {
                if let Ok(v) = serde_json::from_str(entry.get()) {
                    found.push((kind, v));
                }
            }
        }
    }
    pump.abort();
    Ok(found)
}

fn catalog_name(state: &GatewayState, idx: usize) -> String {
    state
        .config
        .load()
        .upstreams
        .get(idx)
        .map(|u| u.name.to_string())
        .unwrap_or_default()
}

/// A request's object result, or why there is none.
async fn call(
    conn: &Connection,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Value, UpstreamError> {
    let resp = conn.call(method, params)?.wait().await?;
    let failed = |why: String| UpstreamError {
        server: conn.name().clone(),
        kind: UpstreamErrorKind::Protocol(why),
    };
    if let Some(err) = resp.error {
        return Err(failed(format!("{method} failed: {}", err.get())));
    }
    resp.result
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
        .filter(Value::is_object)
        .ok_or_else(|| failed(format!("{method} result is not an object")))
}

/// Completes responses and passes on which lists changed, until the connection ends.
async fn pump(
    mut inbound: mpsc::UnboundedReceiver<Inbound>,
    completer: moat_upstream::Completer,
    changed: mpsc::UnboundedSender<Kind>,
) {
    while let Some(event) = inbound.recv().await {
        match event {
            Inbound::Response(r) => completer.complete(r),
            Inbound::Notification { notification, .. } => {
                let kind = match notification.method.as_str() {
                    "notifications/tools/list_changed" => Kind::Tool,
                    "notifications/prompts/list_changed" => Kind::Prompt,
                    "notifications/resources/list_changed" => Kind::ResourceTemplate,
                    _ => continue,
                };
                let _ = changed.send(kind);
            }
            // The watcher declares no client capabilities: a server request goes unanswered
            // and times out on the server's side.
            Inbound::Request { .. } => {}
            Inbound::Closed(_) => return,
        }
    }
}

fn raw(value: &Value) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}
