//! The moat gateway: a Streamable HTTP MCP endpoint in front of many upstream servers.

mod auth;
mod catalog;
mod events;
mod federation;
mod harness;
mod http;
pub mod oauth;
mod session;
mod state;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use moat_config::Config;
use moat_upstream::ConnectOptions;

pub use catalog::{Catalog, CatalogError};
pub use harness::{Harness, Identity};
pub use tls::TlsError;

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The HTTP client for upstreams could not be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    HttpClient(String),
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// The built-in authorization server cannot be set up.
    #[error(transparent)]
    AuthServer(#[from] oauth::AuthServerError),
    /// The built-in authorization server cannot issue a signing key.
    #[error("authorization server: {0}")]
    Keys(#[from] oauth::IssueError),
    /// A limit or egress rule cannot be built.
    #[error("{0}")]
    Limits(String),
    /// The built-in authorization server needs the store.
    #[error("auth.server needs a store")]
    NoStore,
    /// An upstream could not be reached or listed.
    #[error("{0}")]
    Upstream(String),
    /// Content inspection cannot be set up (a pattern, or the pseudonym key).
    #[error("guard: {0}")]
    Guard(String),
}

/// Things the gateway needs besides its configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// The moat executable (built-in servers run as its child processes).
    pub self_exe: PathBuf,
    /// The store: the agent registry (when authentication is on) and the approval queue.
    pub store: Option<moat_store::Store>,
    /// The compiled authorization policy, when the config has one.
    pub policy: Option<Arc<moat_policy::Policy>>,
    /// The catalog ([`Catalog::open`]); `None` serves every definition unvetted, which only
    /// `moat test` (testing the policy alone) does.
    pub catalog: Option<Arc<Catalog>>,
}

/// A configured gateway, ready to serve.
pub struct Gateway {
    state: Arc<state::GatewayState>,
}

impl Gateway {
    /// Prepares a gateway; nothing is started until [`Gateway::serve`].
    pub fn new(config: Config, options: Options) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| GatewayError::HttpClient(e.to_string()))?;
        let auth = config.auth.as_ref().map(|a| {
            let authenticator = auth::Authenticator::new(a, http.clone(), options.store.as_ref());
            match options.store.clone() {
                Some(store) => authenticator.with_registry(store, a.deny_unregistered),
                None => authenticator,
            }
        });
        let oauth = match (&config.auth, &options.store) {
            (Some(a), Some(store)) => {
                oauth::AuthServer::new(store.clone(), a, &config)?.map(Arc::new)
            }
            (Some(a), None) if a.server.is_some() => return Err(GatewayError::NoStore),
            _ => None,
        };
        let guard = guard_profiles(&config.guard)?;
        let rates = session::RateLimits::in_memory(&config.limits.rates)
            .map_err(|e| GatewayError::Limits(format!("limits.rates: {e}")))?;
        // Built even when scoring is off globally: a per-tool or label override may turn it on.
        let settings = config.guard.injection.as_ref().map(|(_, s)| s.clone());
        let injection = moat_guard::InjectionScanner::new(settings.unwrap_or_default())
            .map_err(|e| GatewayError::Limits(format!("guard.injection: {e}")))?;
        let guardrails = session::Guardrails::new(config.guard.guardrails.clone())
            .map_err(|e| GatewayError::HttpClient(e.to_string()))?;
        let egress = session::Egress::new(&config.guard.egress)
            .map_err(|e| GatewayError::Limits(format!("guard.egress: {e}")))?;
        let in_flight = config
            .upstreams
            .iter()
            .map(|u| {
                u.max_concurrency
                    .map(|n| Arc::new(tokio::sync::Semaphore::new(n.get() as usize)))
            })
            .collect();
        let connect = connect_options(options.self_exe, http);
        let state = state::GatewayState {
            auth,
            oauth,
            config: ArcSwap::from_pointee(config),
            sessions: dashmap::DashMap::new(),
            connect,
            stateless: std::sync::OnceLock::new(),
            started: std::time::Instant::now(),
            legacy: dashmap::DashMap::new(),
            policy: arc_swap::ArcSwapOption::new(options.policy),
            approval_store: options.store.clone(),
            catalog: options.catalog,
            sealer: session::Sealer::new(),
            guard,
            rates,
            schemas: session::SchemaCache::default(),
            egress,
            injection,
            guardrails,
            in_flight,
        };
        Ok(Self {
            state: Arc::new(state),
        })
    }

    /// The pipeline without a listener, for `moat test`. Held calls are refused as needing
    /// approval (`-32033`) instead of waiting in the queue.
    pub fn harness(mut self) -> Harness {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.approval_store = None;
        }
        Harness::new(self.state)
    }

    /// A handle that replaces the policy of the running gateway (for reloads).
    pub fn reloader(&self) -> Reloader {
        Reloader(self.state.clone())
    }

    /// Binds the configured listener (TLS 1.3 when configured) and serves until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let config = self.state.config.load_full();
        let addr = config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(GatewayError::Serve)?;
        if let Some(oauth) = &self.state.oauth {
            oauth.prepare().await?;
        }
        let app = http::router(self.state.clone());
        let reaper = tokio::spawn(self.state.clone().reap_idle_sessions());
        let _stop_reaper = AbortOnDrop(reaper);
        let _stop_watcher = AbortOnDrop(tokio::spawn(catalog::watch(self.state.clone())));
        match &config.tls {
            None => {
                tracing::info!("moat listening on http://{local}/mcp");
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<http::Peer>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(GatewayError::Serve)
            }
            Some(tls) => {
                let listener = tls::TlsListener::new(listener, tls)?;
                tracing::info!("moat listening on https://{local}/mcp (TLS 1.3 only)");
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<http::Peer>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(GatewayError::Serve)
            }
        }
    }
}

/// How moat reaches upstreams: the shared HTTP clients and the moat executable.
fn connect_options(self_exe: PathBuf, http: reqwest::Client) -> ConnectOptions {
    ConnectOptions {
        self_exe,
        http,
        plain_http: moat_upstream::PlainHttpClient::default(),
        max_message: 64 * 1024 * 1024,
        tokens: moat_upstream::UpstreamTokens::default(),
    }
}

/// Connects to each of `config`'s upstreams as the gateway would and returns, per server, the
/// tools, prompts and resource templates it lists (every page): what agents would be shown.
/// For `moat scan`.
pub async fn list_definitions(
    config: &Config,
    self_exe: PathBuf,
) -> Result<Vec<(String, Vec<(moat_catalog::Kind, serde_json::Value)>)>, GatewayError> {
    let http = reqwest::Client::builder()
        .redirect(same_origin_redirects())
        .build()
        .map_err(|e| GatewayError::HttpClient(e.to_string()))?;
    let connect = connect_options(self_exe, http);
    let mut out = Vec::new();
    for up in &config.upstreams {
        let found = catalog::definitions(up, &connect)
            .await
            .map_err(|e| GatewayError::Upstream(e.to_string()))?;
        out.push((up.name.to_string(), found));
    }
    Ok(out)
}

/// Replaces the running gateway's policy: requests from then on are decided by the new one,
/// in every open session.
#[derive(Clone)]
pub struct Reloader(Arc<state::GatewayState>);

impl Reloader {
    /// Installs a policy validated by the caller, or reports why none was installed (the old
    /// one keeps serving).
    pub fn apply(&self, outcome: Result<Option<Arc<moat_policy::Policy>>, String>) {
        match outcome {
            Ok(policy) => {
                self.0.policy.store(policy);
                events::policy_reloaded(Ok(()));
            }
            Err(why) => events::policy_reloaded(Err(&why)),
        }
    }
}

/// moat's own outbound requests follow a redirect only within the origin they were sent to (at
/// most 5 hops): a configured https endpoint cannot send moat to another host, a plain-http
/// one, or a cloud metadata address.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        let same = first.is_some_and(|f| f.origin() == attempt.url().origin());
        if attempt.previous().len() > 5 || !same {
            tracing::warn!(to = %attempt.url(), "redirect to another origin refused");
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The guard's redactors (global and per override), the pseudonym key read now.
fn guard_profiles(cfg: &moat_config::GuardConfig) -> Result<session::GuardProfiles, GatewayError> {
    let detector = cfg
        .detector()
        .map_err(|e| GatewayError::Guard(e.to_string()))?;
    let key = cfg
        .pseudonym_key
        .as_ref()
        .map(|k| k.resolve())
        .transpose()
        .map_err(|e| GatewayError::Guard(format!("pseudonym_key: {e}")))?;
    let key = key.as_deref().map(str::as_bytes);
    let base = moat_guard::Redactor::new(detector, cfg.all_actions(), key);
    Ok(session::GuardProfiles::new(cfg, base, key))
}

/// Stops a background task when the gateway stops serving.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
