//! One upstream server as seen from one client session: connected, or down and waiting to retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use moat_config::UpstreamConfig;
use moat_proto::{Notification, RawValue};
use moat_upstream::{Connection, Inbound, UpstreamError, UpstreamErrorKind};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

use super::Session;

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
        tokio::spawn(pump(Arc::downgrade(session), self.idx, generation, inbound));
        let params = session.upstream_init_params();
        let resp = conn.call("initialize", params)?.wait().await?;
        let protocol = |why: String| UpstreamError {
            server: self.cfg.name.clone(),
            kind: UpstreamErrorKind::Protocol(why),
        };
        if let Some(err) = resp.error {
            return Err(protocol(format!("initialize failed: {}", err.get())));
        }
        let init: Value = resp
            .result
            .as_deref()
            .map(RawValue::get)
            .and_then(|r| serde_json::from_str(r).ok())
            .ok_or_else(|| protocol("initialize result is not an object".into()))?;
        let version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if session.client_initialized() {
            conn.notify(Notification::new("notifications/initialized", None))?;
            conn.initialized(&version);
        }
        tracing::info!(server = %self.cfg.name, session = %session.id, %version, "upstream session initialized");
        Ok(Arc::new(Live { conn, init }))
    }
}

/// Carries a connection's server-initiated traffic into the session until either ends.
async fn pump(
    session: std::sync::Weak<Session>,
    idx: usize,
    generation: u64,
    mut inbound: mpsc::UnboundedReceiver<Inbound>,
) {
    while let Some(event) = inbound.recv().await {
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
