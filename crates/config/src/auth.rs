//! Validated authentication settings: moat as an OAuth 2.1 resource server.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::raw::RawAuth;
use crate::secret::SecretRef;
use crate::upstream::parse_duration;

/// Signature algorithms moat can accept. Symmetric ones cannot be: the verification keys are
/// published, so anyone could sign with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

/// Where the token issuer's public keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum JwksSource {
    /// Fetched over HTTPS (plain HTTP only for a loopback host), cached, refreshed on unknown `kid`.
    Url(String),
    /// Read from a file, re-read on unknown `kid`.
    File(PathBuf),
}

/// An RFC 7662 introspection endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection {
    /// The endpoint.
    pub url: String,
    /// moat's client id there.
    pub client_id: String,
    /// moat's client secret there.
    pub client_secret: SecretRef,
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// The only accepted token issuer (`iss`), announced as the authorization server.
    pub issuer: String,
    /// moat's canonical resource URI: the only accepted `aud` (RFC 8707).
    pub resource: String,
    /// The issuer's public keys, for JWT access tokens.
    pub jwks: Option<JwksSource>,
    /// Introspection, for opaque access tokens.
    pub introspection: Option<Introspection>,
    /// Accepted signature algorithms.
    pub algorithms: Vec<TokenAlgorithm>,
    /// Longest accepted token lifetime (`exp − iat`).
    pub max_token_lifetime: Duration,
    /// Tolerated clock skew.
    pub leeway: Duration,
    /// Scopes every request needs.
    pub required_scopes: Vec<String>,
    /// Scopes announced in the protected resource metadata.
    pub scopes_supported: Vec<String>,
    /// Whether agents the registry does not know are refused.
    pub deny_unregistered: bool,
}

const MAX_LIFETIME_CAP: Duration = Duration::from_secs(24 * 3600);

impl AuthConfig {
    pub(crate) fn from_raw(raw: RawAuth) -> Result<Self, ConfigError> {
        let is_http_url = |s: &str| s.starts_with("https://") || s.starts_with("http://");
        if !is_http_url(&raw.issuer) {
            return Err(ConfigError::new(
                "auth.issuer",
                "must be the issuer's URL, as in the tokens' iss",
            ));
        }
        if !is_http_url(&raw.resource) {
            return Err(ConfigError::new(
                "auth.resource",
                "must be moat's public URL for /mcp, e.g. https://mcp.example.com/mcp",
            ));
        }
        let secure =
            |u: &str| u.starts_with("https://") || (u.starts_with("http://") && is_loopback_url(u));
        let jwks = match raw.jwks {
            None => None,
            Some(j) => Some(if let Some(path) = j.strip_prefix("file:") {
                JwksSource::File(path.into())
            } else if secure(&j) {
                JwksSource::Url(j)
            } else {
                return Err(ConfigError::new(
                    "auth.jwks",
                    "must be an https:// URL (http:// only for a loopback host) or file:/path",
                ));
            }),
        };
        let introspection = match raw.introspection {
            None => None,
            Some(i) if !secure(&i.url) => {
                return Err(ConfigError::new(
                    "auth.introspection.url",
                    "must be https:// (http:// only for a loopback host)",
                ));
            }
            Some(i) => {
                let client_secret = SecretRef::parse(&i.client_secret).ok_or_else(|| {
                    ConfigError::new(
                        "auth.introspection.client_secret",
                        "must be env:NAME or file:/path, never inline",
                    )
                })?;
                Some(Introspection {
                    url: i.url,
                    client_id: i.client_id,
                    client_secret,
                })
            }
        };
        if jwks.is_none() && introspection.is_none() {
            return Err(ConfigError::new(
                "auth",
                "needs jwks (JWT tokens), introspection (opaque tokens), or both",
            ));
        }
        let algorithms = match raw.algorithms {
            None => vec![
                TokenAlgorithm::Rs256,
                TokenAlgorithm::Es256,
                TokenAlgorithm::EdDsa,
            ],
            Some(list) if list.is_empty() => {
                return Err(ConfigError::new(
                    "auth.algorithms",
                    "must name at least one algorithm",
                ));
            }
            Some(list) => list
                .iter()
                .map(|a| algorithm(a))
                .collect::<Result<_, _>>()?,
        };
        let max_token_lifetime = match raw.max_token_lifetime {
            None => Duration::from_secs(3600),
            Some(t) => parse_duration(&t, "auth.max_token_lifetime")?,
        };
        if max_token_lifetime > MAX_LIFETIME_CAP {
            return Err(ConfigError::new(
                "auth.max_token_lifetime",
                "must not exceed 24h: long-lived tokens defeat revocation",
            ));
        }
        let leeway = match raw.leeway {
            None => Duration::from_secs(30),
            Some(t) => humantime::parse_duration(&t)
                .ok()
                .filter(|d| *d <= Duration::from_secs(300))
                .ok_or_else(|| {
                    ConfigError::new("auth.leeway", "must be a duration of at most 5m")
                })?,
        };
        Ok(Self {
            issuer: raw.issuer,
            resource: raw.resource,
            jwks,
            introspection,
            algorithms,
            max_token_lifetime,
            leeway,
            required_scopes: raw.required_scopes.unwrap_or_default(),
            scopes_supported: raw.scopes_supported.unwrap_or_default(),
            deny_unregistered: match raw.unregistered_agents.as_deref() {
                None | Some("flag") => false,
                Some("deny") => true,
                Some(other) => {
                    return Err(ConfigError::new(
                        "auth.unregistered_agents",
                        format!("{other:?} is not flag or deny"),
                    ));
                }
            },
        })
    }
}

fn algorithm(name: &str) -> Result<TokenAlgorithm, ConfigError> {
    match name {
        "RS256" => Ok(TokenAlgorithm::Rs256),
        "ES256" => Ok(TokenAlgorithm::Es256),
        "EdDSA" => Ok(TokenAlgorithm::EdDsa),
        "HS256" | "HS384" | "HS512" => Err(ConfigError::new(
            "auth.algorithms",
            format!(
                "{name} is symmetric: its key would have to be public in the JWKS, so anyone could sign"
            ),
        )),
        "none" => Err(ConfigError::new(
            "auth.algorithms",
            "unsigned tokens (none) are never accepted",
        )),
        other => Err(ConfigError::new(
            "auth.algorithms",
            format!("{other:?} is not one of RS256, ES256, EdDSA"),
        )),
    }
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    matches!(host, "127.0.0.1" | "localhost") || rest.starts_with("[::1]")
}
