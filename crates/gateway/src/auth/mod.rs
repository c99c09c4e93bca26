//! moat as an OAuth 2.1 resource server: every MCP request carries a bearer token from the
//! configured issuer, validated before anything else happens; failures get the RFC 6750 / RFC
//! 9728 challenge that tells a client where to get a token.

mod challenge;
mod introspect;
mod keys;
mod registry;
mod revoked;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};
use http::HeaderMap;
use moat_config::{AuthConfig, TokenAlgorithm};
use moat_identity::{Algorithm, Principal, TokenError, TokenPolicy, VerifiedTokens, validate};
use serde_json::{Value, json};

pub(crate) use challenge::Refusal;
use introspect::Introspector;
use keys::{KeySource, Keys};
use registry::Registry;
use revoked::Revoked;

use crate::state::GatewayState;

/// Who sent a request, and from where.
#[derive(Clone, Default)]
pub(crate) struct Caller {
    /// `None` when authentication is off (loopback or explicitly allowed).
    pub(crate) principal: Option<Arc<Principal>>,
    /// The client's address, as the listener saw it.
    pub(crate) source: Option<std::net::IpAddr>,
}

impl Caller {
    pub(crate) fn new(principal: Option<Principal>, source: Option<std::net::IpAddr>) -> Self {
        Self {
            principal: principal.map(Arc::new),
            source,
        }
    }

    /// Whether a session opened by `owner` may be used by this caller (the address does not
    /// matter: clients move between networks).
    pub(crate) fn may_use(&self, owner: &Caller) -> bool {
        match (&self.principal, &owner.principal) {
            (None, None) => true,
            (Some(me), Some(them)) => me.same_caller(them),
            _ => false,
        }
    }
}

pub(crate) struct Authenticator {
    policy: TokenPolicy,
    keys: Option<Keys>,
    introspector: Option<Introspector>,
    registry: Option<Registry>,
    revoked: Option<Revoked>,
    /// Tokens whose signature and claims were verified, so a client's next requests skip the
    /// signature check (49 µs for EdDSA); revocation and the agent's status are still checked.
    verified: VerifiedTokens,
    required_scopes: Vec<String>,
    scopes_supported: Vec<String>,
    issuer: String,
    resource: String,
    metadata_url: String,
}

impl Authenticator {
    /// `store` holds the built-in server's keys when `cfg.server` is set.
    pub(crate) fn new(
        cfg: &AuthConfig,
        http: reqwest::Client,
        store: Option<&moat_store::Store>,
    ) -> Self {
        let algorithms = cfg
            .algorithms
            .iter()
            .map(|a| match a {
                TokenAlgorithm::Rs256 => Algorithm::RS256,
                TokenAlgorithm::Es256 => Algorithm::ES256,
                TokenAlgorithm::EdDsa => Algorithm::EdDSA,
            })
            .collect();
        let policy = TokenPolicy {
            issuer: cfg.issuer.clone(),
            audience: cfg.resource.clone(),
            algorithms,
            leeway_secs: cfg.leeway.as_secs(),
            max_lifetime_secs: cfg.max_token_lifetime.as_secs(),
        };
        Self {
            policy,
            keys: match (&cfg.server, store, &cfg.jwks) {
                (Some(_), Some(store), _) => {
                    Some(Keys::new(KeySource::Store(store.clone()), http.clone()))
                }
                (_, _, Some(j)) => Some(Keys::new(KeySource::Jwks(j.clone()), http.clone())),
                _ => None,
            },
            introspector: cfg
                .introspection
                .clone()
                .map(|i| Introspector::new(i, http)),
            registry: None,
            revoked: None,
            verified: VerifiedTokens::new(MAX_VERIFIED, cfg.leeway.as_secs()),
            required_scopes: cfg.required_scopes.clone(),
            scopes_supported: cfg.scopes_supported.clone(),
            issuer: cfg.issuer.clone(),
            resource: cfg.resource.clone(),
            metadata_url: metadata_url(&cfg.resource),
        }
    }

    /// Checks every authenticated agent against the registry in `store`, and every token
    /// against its revocation log.
    pub(crate) fn with_registry(
        mut self,
        store: moat_store::Store,
        deny_unregistered: bool,
    ) -> Self {
        self.revoked = Some(Revoked::new(store.clone()));
        self.registry = Some(Registry::new(store, deny_unregistered));
        self
    }

    /// A token this process just revoked: refused from the next request on.
    pub(crate) fn note_revoked(&self, jti: &str) {
        if let Some(revoked) = &self.revoked {
            revoked.note(jti);
        }
    }

    /// The caller of a request, or why it is refused.
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Principal, Refusal> {
        if query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("access_token="))) {
            return Err(Refusal::TokenInQuery);
        }
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Err(Refusal::Missing);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Refusal::NotBearer)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let result = if looks_like_jwt(token) {
            self.validate_jwt(token, now).await
        } else {
            match &self.introspector {
                Some(i) => i.principal(token, &self.policy, now).await,
                None => Err(TokenError::Malformed),
            }
        };
        let principal = result.map_err(Refusal::Invalid)?;
        if let (Some(revoked), Some(jti)) = (&self.revoked, &principal.token_id)
            && revoked
                .contains(jti)
                .await
                .map_err(Refusal::RevocationsUnavailable)?
        {
            return Err(Refusal::Invalid(TokenError::Invalid(
                "the token has been revoked".into(),
            )));
        }
        if !principal.has_scopes(self.required_scopes.iter().map(String::as_str)) {
            return Err(Refusal::InsufficientScope(self.required_scopes.clone()));
        }
        if let Some(registry) = &self.registry {
            registry.admit(&principal).await.map_err(Refusal::Agent)?;
        }
        Ok(principal)
    }

    async fn validate_jwt(&self, token: &str, now: u64) -> Result<Principal, TokenError> {
        if let Some(hit) = self.verified.get(token, now) {
            return Ok(Principal::clone(&hit));
        }
        let principal = self.verify_jwt(token, now).await?;
        self.verified
            .insert(token, Arc::new(principal.clone()), now);
        Ok(principal)
    }

    async fn verify_jwt(&self, token: &str, now: u64) -> Result<Principal, TokenError> {
        let Some(keys) = &self.keys else {
            return Err(TokenError::Invalid(
                "JWT access tokens are not accepted here (no jwks configured)".into(),
            ));
        };
        let seen = keys.current();
        let result = validate(token, &seen, &self.policy, now);
        if !matches!(result, Err(TokenError::UnknownKey(_))) {
            return result;
        }
        // A key not seen yet: the issuer may have rotated. Reload (rate-limited; concurrent
        // callers wait for one load) and retry if the set changed meanwhile, whoever loaded it.
        keys.reload().await;
        let current = keys.current();
        if Arc::ptr_eq(&seen, &current) {
            result
        } else {
            validate(token, &current, &self.policy, now)
        }
    }

    /// RFC 9728 protected resource metadata.
    pub(crate) fn metadata(&self) -> Value {
        json!({
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "scopes_supported": self.scopes_supported,
            "bearer_methods_supported": ["header"],
            "resource_name": "moat MCP gateway",
        })
    }
}

/// Verified tokens remembered at most.
const MAX_VERIFIED: usize = 10_000;

/// Whether a token has the shape of a JWS compact serialization (three base64url parts).
fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `https://host/mcp` → `https://host/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1).
fn metadata_url(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("https", resource));
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        format!("{scheme}://{authority}/.well-known/oauth-protected-resource")
    } else {
        format!("{scheme}://{authority}/.well-known/oauth-protected-resource/{path}")
    }
}

/// Middleware on the MCP routes: authenticates the request (when auth is on) and hands the
/// caller to the handlers; refusals are answered here and never reach a session.
pub(crate) async fn layer(
    State(state): State<Arc<GatewayState>>,
    mut req: Request,
    next: Next,
) -> HttpResponse {
    let source = req
        .extensions()
        .get::<axum::extract::ConnectInfo<crate::http::Peer>>()
        .map(|c| c.0.0.ip());
    let caller = match &state.auth {
        None => Caller::new(None, source),
        Some(auth) => match auth.authenticate(req.headers(), req.uri().query()).await {
            Ok(p) => Caller::new(Some(p), source),
            Err(refusal) => {
                tracing::warn!(reason = %refusal, "request refused by authentication");
                return refusal.into_response(auth);
            }
        },
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// `GET /.well-known/oauth-protected-resource[/…]`.
pub(crate) async fn metadata(State(state): State<Arc<GatewayState>>) -> HttpResponse {
    match &state.auth {
        Some(auth) => {
            let body = auth.metadata().to_string();
            ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_segment() {
        assert_eq!(
            metadata_url("https://m.example/mcp"),
            "https://m.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://m.example"),
            "https://m.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8/a/mcp/"),
            "http://127.0.0.1:8/.well-known/oauth-protected-resource/a/mcp"
        );
    }

    #[test]
    fn a_session_is_usable_only_by_its_owner() {
        let p = |sub: &str| {
            Caller::new(
                Some(Principal {
                    issuer: "i".into(),
                    subject: sub.into(),
                    client_id: Some("c".into()),
                    scopes: vec![],
                    expires_at: 0,
                    token_id: None,
                    groups: vec![],
                }),
                Some([127, 0, 0, 1].into()),
            )
        };
        let anonymous = Caller::default;
        assert!(p("a").may_use(&p("a")));
        assert!(!p("b").may_use(&p("a")));
        assert!(!anonymous().may_use(&p("a")));
        assert!(anonymous().may_use(&anonymous()));
    }
}
