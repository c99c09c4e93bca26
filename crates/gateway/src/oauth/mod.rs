//! moat's built-in OAuth 2.1 authorization server (on when `auth.server` is configured): the
//! HTTP endpoints over `moat-oauth`'s rules and the store.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /.well-known/oauth-authorization-server` | RFC 8414 metadata |
//! | `GET /oauth/jwks` | the published signing keys |
//! | `GET, POST /oauth/authorize` | authorization code + PKCE, sign-in and consent page |
//! | `POST /oauth/token` | authorization_code, refresh_token (rotating), client_credentials |
//! | `POST /oauth/revoke` | RFC 7009 revocation of access and refresh tokens |
//! | `POST /oauth/register` | RFC 7591 dynamic registration, when switched on |
//!
//! Pending authorization requests and codes live in this process's memory (minutes at most);
//! everything lasting (clients, consents, refresh tokens, keys, revocations) is in the store.

mod authorize;
mod issuer;
mod metadata_document;
mod page;
mod pending;
mod register;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use moat_config::{AuthConfig, AuthServerConfig, Config, Registration};
use moat_oauth::OAuthError;
use moat_oauth::authorize::AuthorizationRequest;
use moat_store::SecretHash;
use ring::hmac;

pub use issuer::{IssueError, IssuedToken, Issuer, Revoked};

use crate::state::GatewayState;

/// An authorization request waiting for the user's decision.
struct PendingRequest {
    request: AuthorizationRequest,
    client_name: String,
    failed_sign_ins: u8,
    /// When the request was first shown: a failed sign-in re-shows it, never extends it.
    started: std::time::Instant,
}

/// What an authorization code stands for until the client redeems it.
struct CodeGrant {
    request: AuthorizationRequest,
    subject: String,
}

/// What a redeemed code obtained, kept so that a replay of the code can revoke it.
struct RedeemedCode {
    client_id: String,
    jti: String,
    expires_at: moat_store::chrono::DateTime<moat_store::chrono::Utc>,
    family: Option<moat_store::FamilyId>,
}

/// How long a redeemed code is remembered (a replay later than this is only refused).
const REDEEMED_TTL: Duration = Duration::from_secs(600);
/// How long the user has to sign in and decide.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long a code can be redeemed (RFC 6749 recommends at most 10 minutes; a minute is ample).
const CODE_TTL: Duration = Duration::from_secs(60);
const MAX_PENDING: usize = 10_000;
/// Wrong passwords tolerated per authorization request.
const MAX_FAILED_SIGN_INS: u8 = 5;

pub(crate) struct AuthServer {
    issuer: Issuer,
    settings: AuthServerConfig,
    users: HashMap<String, SecretHash>,
    /// Verified against for unknown users, so a wrong name costs what a wrong password does.
    dummy_hash: SecretHash,
    /// Scope names and descriptions from the dictionary, for metadata and the consent page.
    scopes: Vec<(String, String)>,
    pending: pending::Expiring<PendingRequest>,
    codes: pending::Expiring<CodeGrant>,
    redeemed: pending::Expiring<RedeemedCode>,
    /// Signs the CSRF cookie and form tokens; new per process, like the pending requests.
    csrf_key: hmac::Key,
    /// Fetches client ID metadata documents: no redirects, short timeout.
    http: reqwest::Client,
    /// POSTs per source address (`auth.server.requests_per_source`): password guessing,
    /// registration floods and argon2 work are bounded per address.
    per_source: moat_ratelimit::MemoryLimiter,
}

/// The server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthServerError {
    /// A user's password hash cannot be read.
    #[error("auth.server.users.{0}: {1}")]
    User(String, String),
    /// The random source failed.
    #[error("cannot make the CSRF key: the random source failed")]
    Random,
    /// The HTTP client for metadata documents cannot be built.
    #[error("cannot build the HTTP client for client metadata documents: {0}")]
    Http(String),
    /// The per-source limit cannot be built.
    #[error("auth.server.requests_per_source: {0}")]
    Limit(String),
}

impl AuthServer {
    pub(crate) fn new(
        store: moat_store::Store,
        auth: &AuthConfig,
        config: &Config,
    ) -> Result<Option<Self>, AuthServerError> {
        let (Some(settings), Some(issuer)) = (auth.server.clone(), Issuer::new(store, auth)) else {
            return Ok(None);
        };
        let mut users = HashMap::new();
        for (name, value) in &settings.users {
            let phc = value
                .resolve()
                .map_err(|e| AuthServerError::User(name.clone(), e.to_string()))?;
            let hash = SecretHash::from_phc(phc.trim())
                .map_err(|e| AuthServerError::User(name.clone(), e.to_string()))?;
            users.insert(name.clone(), hash);
        }
        let dummy_hash = SecretHash::hash(&moat_store::OpaqueToken::generate().expose()[..16])
            .map_err(|e| AuthServerError::User("(dummy)".into(), e.to_string()))?;
        let rng = ring::rand::SystemRandom::new();
        let csrf_key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|_| AuthServerError::Random)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(metadata_document::FETCH_TIMEOUT)
            .build()
            .map_err(|e| AuthServerError::Http(e.to_string()))?;
        let per_source = moat_ratelimit::MemoryLimiter::new(&[settings.requests_per_source])
            .map_err(|e| AuthServerError::Limit(e.to_string()))?;
        Ok(Some(Self {
            issuer,
            settings,
            users,
            dummy_hash,
            scopes: config
                .scopes
                .iter()
                .map(|s| (s.name.clone(), s.description.clone()))
                .collect(),
            pending: pending::Expiring::new(PENDING_TTL, MAX_PENDING),
            codes: pending::Expiring::new(CODE_TTL, MAX_PENDING),
            redeemed: pending::Expiring::new(REDEEMED_TTL, MAX_PENDING),
            csrf_key,
            http,
            per_source,
        }))
    }

    /// Generates the first signing key if there is none, so the JWKS is never empty.
    pub(crate) async fn prepare(&self) -> Result<(), IssueError> {
        let key = self.issuer.ensure_key().await?;
        tracing::info!(kid = %key.kid, "authorization server signing with key");
        Ok(())
    }

    fn sign(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.csrf_key, value.as_bytes()).as_ref())
    }

    fn verify(&self, value: &str, signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|sig| hmac::verify(&self.csrf_key, value.as_bytes(), &sig).is_ok())
    }
}

/// The authorization server a request is for, taken from the gateway's state. Its routes are
/// mounted only when it is configured, so the 404 is a guard rather than a path.
struct Server(Arc<AuthServer>);

impl FromRequestParts<Arc<GatewayState>> for Server {
    type Rejection = StatusCode;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &Arc<GatewayState>,
    ) -> Result<Self, StatusCode> {
        state.oauth.clone().map(Self).ok_or(StatusCode::NOT_FOUND)
    }
}

pub(crate) fn router(state: Arc<GatewayState>) -> Router<Arc<GatewayState>> {
    if state.oauth.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/jwks", get(jwks))
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::decide),
        )
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .route("/oauth/register", post(register::register))
        .route_layer(axum::middleware::from_fn_with_state(state, limit_by_source))
}

/// Every POST to the OAuth endpoints counts against its source address; over the limit it gets
/// 429 with `Retry-After` and nothing else is done for it.
async fn limit_by_source(
    axum::extract::State(state): axum::extract::State<Arc<GatewayState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let source = req
        .extensions()
        .get::<axum::extract::ConnectInfo<crate::http::Peer>>()
        .map(|c| c.0.0.ip());
    if let (true, Some(server), Some(ip)) =
        (req.method() == http::Method::POST, &state.oauth, source)
    {
        let key = ip.to_string();
        if let Err(refusal) =
            moat_ratelimit::Limiter::acquire(&server.per_source, &[(0, &key)]).await
        {
            let retry = match refusal {
                moat_ratelimit::Refusal::Exceeded(e) => e.retry_after,
                moat_ratelimit::Refusal::Unavailable(_) => std::time::Duration::from_secs(1),
            };
            let secs = retry.as_millis().div_ceil(1000).max(1);
            tracing::warn!(target: "moat::governance", event = "rate_limited", source = %ip, path = %req.uri().path(), "too many OAuth requests from one address");
            let error = OAuthError::new(
                moat_oauth::ErrorCode::TemporarilyUnavailable,
                format!("too many requests from this address; retry in {secs} s"),
            );
            let mut resp = oauth_error(&error);
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    }
    next.run(req).await
}

async fn metadata(Server(server): Server) -> Response {
    let server = &*server;
    let names: Vec<String> = server.scopes.iter().map(|(n, _)| n.clone()).collect();
    let features = moat_oauth::metadata::Features {
        registration: server.settings.registration != Registration::Off,
        metadata_documents: server.settings.metadata_documents != Registration::Off,
    };
    json_response(
        StatusCode::OK,
        &moat_oauth::metadata::document(server.issuer.issuer(), &names, features),
    )
}

async fn jwks(Server(server): Server) -> Response {
    let server = &*server;
    match server.issuer.jwks().await {
        Ok(doc) => json_response(StatusCode::OK, &doc),
        Err(e) => {
            tracing::error!("cannot read the signing keys: {e}");
            oauth_error(&OAuthError::new(
                moat_oauth::ErrorCode::TemporarilyUnavailable,
                "the signing keys cannot be read",
            ))
        }
    }
}

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut resp = (status, text).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An RFC 6749 §5.2 error answer; 401s carry a Basic challenge (§5.2, invalid_client).
fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(
        status,
        &serde_json::json!({"error": error.code(), "error_description": error.error_description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"moat\""),
        );
    }
    resp
}

/// Maps store failures to a temporary refusal (fail closed) and logs the cause.
fn unavailable(what: &str, error: impl std::fmt::Display) -> OAuthError {
    tracing::error!("authorization server: {what}: {error}");
    OAuthError::new(
        moat_oauth::ErrorCode::TemporarilyUnavailable,
        format!("{what} is unavailable"),
    )
}
