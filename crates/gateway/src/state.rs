//! What every request handler shares.

use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
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
    /// Client authentication, when configured.
    pub(crate) auth: Option<crate::auth::Authenticator>,
    /// The built-in authorization server, when configured.
    pub(crate) oauth: Option<Arc<crate::oauth::AuthServer>>,
    /// The one session all stateless (2026-07-28) requests share, made on first use.
    pub(crate) stateless: std::sync::OnceLock<Arc<Session>>,
    pub(crate) started: std::time::Instant,
    /// The authorization policy, read per request so a reload reaches open sessions; `None`
    /// when the config has no `policy:`.
    pub(crate) policy: ArcSwapOption<moat_policy::Policy>,
    /// Where held calls wait for an operator and decisions are recorded; `None` when there is
    /// no store (and in `moat test`): a held call that cannot be elicited is then refused.
    pub(crate) approval_store: Option<moat_store::Store>,
    /// PII/secret and injection actions, global and per tool or label (`guard:` in the
    /// config, else moat's defaults).
    pub(crate) guard: crate::session::GuardProfiles,
    /// Rate limits and quotas (`limits.rates`), with the limiter counting them; `None` without.
    pub(crate) rates: Option<crate::session::RateLimits>,
    /// Per upstream (in config order), the slots for requests in flight when it has a
    /// `max_concurrency`; shared by every session.
    pub(crate) in_flight: Vec<Option<Arc<tokio::sync::Semaphore>>>,
    /// Prompt-injection scoring of results and arguments (the actions are in `guard`).
    pub(crate) injection: moat_guard::InjectionScanner,
    /// External guardrail services (`guard.guardrails`).
    pub(crate) guardrails: crate::session::Guardrails,
    /// Where URLs in tool arguments may lead (`guard.egress`).
    pub(crate) egress: crate::session::Egress,
    /// Tools' input schemas, compiled once per distinct text.
    pub(crate) schemas: crate::session::SchemaCache,
    /// Seals the `requestState` of 2026-07-28 approval rounds.
    pub(crate) sealer: crate::session::Sealer,
    /// Which definitions of which servers agents may see and use; `None` only in `moat
    /// test`'s harness, which tests the policy alone.
    pub(crate) catalog: Option<Arc<crate::catalog::Catalog>>,
    /// Open legacy HTTP+SSE connections by their session id.
    pub(crate) legacy: DashMap<Arc<str>, crate::http::legacy_sse::LegacyClient>,
}

impl GatewayState {
    /// Whether a stage reads tools' schemas (validation, or egress finding URL arguments by
    /// their declared format), so listings must keep them.
    pub(crate) fn keeps_tool_facts(&self) -> bool {
        self.config.load().guard.schema != moat_config::SchemaMode::Off || self.egress.enforces()
    }

    /// Milliseconds since the gateway started: a cheap monotonic clock for idle tracking.
    pub(crate) fn uptime_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Ends sessions idle longer than the configured limit, checking a few times per limit.
    pub(crate) async fn reap_idle_sessions(self: Arc<Self>) {
        loop {
            let limit = self.config.load().session_idle_timeout;
            tokio::time::sleep((limit / 4).clamp(
                std::time::Duration::from_millis(250),
                std::time::Duration::from_secs(60),
            ))
            .await;
            self.sessions.retain(|id, s| {
                let keep = !s.idle_longer_than(limit);
                if !keep {
                    tracing::info!(session = %id, "session ended after {limit:?} idle");
                }
                keep
            });
        }
    }
}
