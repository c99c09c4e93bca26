//! One upstream server as seen from one client session: connected, or down and waiting to retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use moat_config::UpstreamConfig;
use moat_proto::{Notification, ProtocolVersion, RawValue};
use moat_upstream::{Completer, Connection, Inbound, UpstreamError, UpstreamErrorKind};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Mode, Session};

/// A connected server and what it said when initialized.
pub(crate) struct Live {
    pub(crate) conn: Connection,
    pub(crate) init: Value,
}

impl Live {
    /// Whether the server announced a capability (`tools`, `logging`, …).
    pub(crate) fn has_capability(&self, name: &str) -> bool {
        self.init
            .get("capabilities")
            .and_then(|c| c.get(name))
            .is_some()
    }
}

struct Down {
    error: UpstreamError,
    retry_at: Instant,
    failures: u32,
}

pub(crate) struct Slot {
    pub(crate) idx: usize,
    pub(crate) cfg: UpstreamConfig,
    live: ArcSwapOption<Live>,
    down: Mutex<Option<Down>>,
    connecting: tokio::sync::Mutex<()>,
    /// Incremented per connection, so a late `Closed` from a replaced connection is ignored.
    generation: AtomicU64,
}

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Slot {
    pub(crate) fn new(idx: usize, cfg: UpstreamConfig) -> Self {
        Self {
            idx,
            cfg,
            live: ArcSwapOption::empty(),
            down: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }

    /// The connection if it is up, without trying to connect.
    pub(crate) fn current(&self) -> Option<Arc<Live>> {
        self.live.load_full().filter(|l| !l.conn.is_closed())
    }

    /// The live connection, (re)connecting when the server is down and its backoff has passed.
    pub(crate) async fn live(&self, session: &Arc<Session>) -> Result<Arc<Live>, UpstreamError> {
        if let Some(l) = self.current() {
            return Ok(l);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(l) = self.current() {
            return Ok(l);
        }
        if let Some(d) = self
            .down
            .lock()
            .as_ref()
            .filter(|d| Instant::now() < d.retry_at)
        {
            return Err(d.error.clone());
        }
        match self.connect(session).await {
            Ok(live) => {
                *self.down.lock() = None;
                self.live.store(Some(live.clone()));
                Ok(live)
            }
            Err(e) => {
                self.mark_down(e.clone());
                Err(e)
            }
        }
    }

    /// Marks the server down if `generation` is still its current connection.
    pub(crate) fn closed(&self, generation: u64, error: UpstreamError) -> bool {
        let current = self.generation.load(Ordering::SeqCst) == generation;
        if current {
            self.mark_down(error);
        }
        current
    }

    /// Records a failure; the next attempt waits exponentially longer, up to 30 s.
    pub(crate) fn mark_down(&self, error: UpstreamError) {
        self.live.store(None);
        let mut down = self.down.lock();
        let failures = down.as_ref().map_or(0, |d| d.failures) + 1;
        let wait = BACKOFF_BASE
            .saturating_mul(1 << failures.min(8))
            .min(BACKOFF_MAX);
        tracing::warn!(server = %self.cfg.name, retry_in = ?wait, "upstream down: {}", error.kind);
        *down = Some(Down {
            error,
            retry_at: Instant::now() + wait,
            failures,
        });
    }

    async fn connect(&self, session: &Arc<Session>) -> Result<Arc<Live>, UpstreamError> {
        let (conn, inbound) = Connection::connect(&self.cfg, &session.gateway.connect).await?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let completer = conn.completer();
        tokio::spawn(pump(
            Arc::downgrade(session),
            self.idx,
            generation,
            inbound,
            completer,
        ));
        let init = match session.mode {
            Mode::Stateful => self.initialize(&conn, session).await,
            Mode::Stateless => self.discover(&conn).await,
        };
        match init {
            Ok(init) => Ok(Arc::new(Live { conn, init })),
            Err(e) => {
                // The connection is dropped here; its "closed" notice must not replace the
                // handshake's error as the reason the server is down.
                self.generation.fetch_add(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    fn protocol_error(&self, why: String) -> UpstreamError {
        UpstreamError {
            server: self.cfg.name.clone(),
            kind: UpstreamErrorKind::Protocol(why),
        }
    }

    /// The object result of a handshake request, or why there is none.
    async fn handshake(
        &self,
        conn: &Connection,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Value, UpstreamError> {
        let resp = conn.call(method, params)?.wait().await?;
        if let Some(err) = resp.error {
            return Err(self.protocol_error(format!("{method} failed: {}", err.get())));
        }
        resp.result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .filter(Value::is_object)
            .ok_or_else(|| self.protocol_error(format!("{method} result is not an object")))
    }

    /// The 2025 handshake, on behalf of the session's client.
    async fn initialize(
        &self,
        conn: &Connection,
        session: &Arc<Session>,
    ) -> Result<Value, UpstreamError> {
        let init = self
            .handshake(conn, "initialize", session.upstream_init_params())
            .await?;
        let version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if session.client_initialized() {
            conn.notify(Notification::new("notifications/initialized", None))?;
            conn.set_protocol_version(&version);
            conn.open_listen_stream();
        }
        tracing::info!(server = %self.cfg.name, session = %session.id, %version, "upstream session initialized");
        Ok(init)
    }

    /// The 2026-07-28 equivalent: no session, just what the server offers. A server that does
    /// not answer `server/discover` does not speak the stateless revision.
    async fn discover(&self, conn: &Connection) -> Result<Value, UpstreamError> {
        conn.set_protocol_version(ProtocolVersion::V2026_07_28.as_str());
        let found = self
            .handshake(conn, "server/discover", moat_request_meta())
            .await;
        found.map_err(|e| {
            self.protocol_error(format!(
                "does not speak MCP 2026-07-28 ({}); reach it with a 2025 client session instead",
                e.kind
            ))
        })
    }
}

/// The `_meta` moat sends on requests it makes for itself in stateless mode.
pub(crate) fn moat_request_meta() -> Option<Box<RawValue>> {
    let meta = serde_json::json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": ProtocolVersion::V2026_07_28.as_str(),
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "moat", "version": env!("CARGO_PKG_VERSION")},
    }});
    serde_json::value::to_raw_value(&meta).ok()
}

/// Carries a connection's server-initiated traffic into the session until either ends.
async fn pump(
    session: std::sync::Weak<Session>,
    idx: usize,
    generation: u64,
    mut inbound: mpsc::UnboundedReceiver<Inbound>,
    completer: Completer,
) {
    // One task, in arrival order: a response is completed only after everything the server sent
    // before it has been routed, so no progress or log message can trail its answer.
    while let Some(event) = inbound.recv().await {
        if let Inbound::Response(r) = event {
            completer.complete(r);
            continue;
        }
        let Some(session) = session.upgrade() else {
            return;
        };
        if let Inbound::Closed(error) = event {
            session.upstream_closed(idx, generation, error);
            return;
        }
        session.on_upstream_message(idx, event);
    }
}
