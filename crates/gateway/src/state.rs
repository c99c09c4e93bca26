//! What every request handler shares.

use std::sync::Arc;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use moat_config::Config;
use moat_upstream::ConnectOptions;

use crate::session::Session;

pub(crate) struct GatewayState {
    /// The configuration; a session takes one snapshot when it starts.
    pub(crate) config: ArcSwap<Config>,
    /// Live sessions by id. Sharded, so lookups from concurrent requests rarely contend.
    pub(crate) sessions: DashMap<Arc<str>, Arc<Session>>,
    pub(crate) connect: ConnectOptions,
    /// The one session all stateless (2026-07-28) requests share, made on first use.
    pub(crate) stateless: std::sync::OnceLock<Arc<Session>>,
}
