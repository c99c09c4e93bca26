//! Validated authentication settings: moat as an OAuth 2.1 resource server.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::raw::{RawAuth, RawAuthServer};
use crate::secret::{SecretRef, Value};
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
    /// The built-in authorization server, when moat issues the tokens itself.
    pub server: Option<AuthServerConfig>,
}

/// How clients may register themselves (RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Only operators register clients (`moat agents register`).
    Off,
    /// Anyone may register; the client is active at once.
    Open,
    /// Anyone may register; the client is `pending` until an operator approves it.
    Pending,
}

/// moat's built-in authorization server.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthServerConfig {
    /// Access-token lifetime (default 15 min, at most 1 h and at most `max_token_lifetime`).
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime (default 30 days).
    pub refresh_token_ttl: Duration,
    /// The algorithm new signing keys use.
    pub signing_algorithm: TokenAlgorithm,
    /// Dynamic client registration.
    pub registration: Registration,
    /// Client ID Metadata Documents: clients named by the https URL of their metadata.
    pub metadata_documents: Registration,
    /// Scopes a dynamically registered client gets when it asks for none.
    pub registration_scopes: Vec<String>,
    /// Local users: name and argon2id hash (literal PHC string or a secret reference).
    pub users: Vec<(String, Value)>,
    /// POSTs to the OAuth endpoints (sign-in, token, registration, revocation) one source
    /// address may make: a burst of `count`, refilled over the period.
    pub requests_per_source: moat_ratelimit::Limit,
}

const MAX_ACCESS_TTL: Duration = Duration::from_secs(3600);

impl AuthServerConfig {
    fn from_raw(raw: RawAuthServer, max_lifetime: Duration) -> Result<Self, ConfigError> {
        let access_token_ttl = match raw.access_token_ttl {
            None => Duration::from_secs(15 * 60),
            Some(t) => parse_duration(&t, "auth.server.access_token_ttl")?,
        };
        if access_token_ttl > MAX_ACCESS_TTL.min(max_lifetime) {
            return Err(ConfigError::new(
                "auth.server.access_token_ttl",
                "must be at most 1h and at most auth.max_token_lifetime",
            ));
        }
        let refresh_token_ttl = match raw.refresh_token_ttl {
            None => Duration::from_secs(30 * 24 * 3600),
            Some(t) => parse_duration(&t, "auth.server.refresh_token_ttl")?,
        };
        let signing_algorithm = match raw.signing_algorithm.as_deref() {
            None | Some("EdDSA") => TokenAlgorithm::EdDsa,
            Some("ES256") => TokenAlgorithm::Es256,
            Some(other) => {
                return Err(ConfigError::new(
                    "auth.server.signing_algorithm",
                    format!("{other:?} is not EdDSA or ES256"),
                ));
            }
        };
        let registration = registration_mode(
            raw.client_registration.as_deref(),
            "auth.server.client_registration",
        )?;
        let metadata_documents = registration_mode(
            raw.client_metadata_documents.as_deref(),
            "auth.server.client_metadata_documents",
        )?;
        let mut users = Vec::new();
        for (name, hash) in raw.users.unwrap_or_default() {
            let field = format!("auth.server.users.{name}");
            if name.is_empty() || name.chars().any(|c| c.is_control() || c == ':') {
                return Err(ConfigError::new(
                    &field,
                    "user names must be printable, without ':'",
                ));
            }
            let value = Value::parse(&hash);
            if let Value::Literal(text) = &value
                && !text.starts_with("$argon2id$")
            {
                return Err(ConfigError::new(
                    &field,
                    "must be an argon2id hash ($argon2id$…, see `moat hash-password`) \
                     or an env:/file: reference to one, never a password",
                ));
            }
            users.push((name, value));
        }
        let rate = raw.requests_per_source.as_deref().unwrap_or("30/min");
        let (count, period) = crate::limits::parse_rate(rate).ok_or_else(|| {
            ConfigError::new(
                "auth.server.requests_per_source",
                format!("{rate:?} is not a rate such as 30/min"),
            )
        })?;
        Ok(Self {
            access_token_ttl,
            refresh_token_ttl,
            signing_algorithm,
            registration,
            metadata_documents,
            registration_scopes: raw.registration_scopes.unwrap_or_default(),
            users,
            requests_per_source: moat_ratelimit::Limit {
                count,
                period,
                burst: count,
            },
        })
    }
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
        let secure = crate::outbound::https_or_loopback;
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
        if raw.server.is_some() {
            if jwks.is_some() || introspection.is_some() {
                return Err(ConfigError::new(
                    "auth.server",
                    "the built-in authorization server signs its own tokens: \
                     jwks and introspection are for an external issuer, remove them",
                ));
            }
            if !is_origin(&raw.issuer) {
                return Err(ConfigError::new(
                    "auth.issuer",
                    "with the built-in authorization server, the issuer is moat's own origin \
                     (scheme://host[:port], no path), e.g. https://mcp.example.com",
                ));
            }
        } else if jwks.is_none() && introspection.is_none() {
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
        let server = raw
            .server
            .map(|s| AuthServerConfig::from_raw(s, max_token_lifetime))
            .transpose()?;
        if let Some(s) = &server
            && !algorithms.contains(&s.signing_algorithm)
        {
            return Err(ConfigError::new(
                "auth.server.signing_algorithm",
                "must be one of auth.algorithms, or moat would refuse its own tokens",
            ));
        }
        Ok(Self {
            server,
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

fn registration_mode(mode: Option<&str>, field: &str) -> Result<Registration, ConfigError> {
    match mode {
        None | Some("off") => Ok(Registration::Off),
        Some("open") => Ok(Registration::Open),
        Some("pending") => Ok(Registration::Pending),
        Some(other) => Err(ConfigError::new(
            field,
            format!("{other:?} is not off, open or pending"),
        )),
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

/// `scheme://authority` with nothing after it (a trailing `/` is tolerated).
fn is_origin(url: &str) -> bool {
    url.split_once("://").is_some_and(|(_, rest)| {
        !rest.trim_end_matches('/').contains('/') && !rest.contains(['?', '#'])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<AuthConfig, ConfigError> {
        let raw: RawAuth = serde_yaml_ng::from_str(yaml).expect("yaml");
        AuthConfig::from_raw(raw)
    }

    const BUILT_IN: &str = "issuer: http://127.0.0.1:8940\nresource: http://127.0.0.1:8940/mcp\n";

    #[test]
    fn the_built_in_server_has_safe_defaults() {
        let cfg = load(&format!("{BUILT_IN}server: {{}}\n")).unwrap();
        let server = cfg.server.unwrap();
        assert_eq!(server.access_token_ttl, Duration::from_secs(900));
        assert_eq!(server.registration, Registration::Off);
        assert_eq!(server.signing_algorithm, TokenAlgorithm::EdDsa);
        assert!(server.users.is_empty());
    }

    #[test]
    fn the_built_in_server_refuses_what_would_weaken_it() {
        let cases = [
            (
                "server:\n  access_token_ttl: 2h\n",
                "auth.server.access_token_ttl",
            ),
            (
                "server:\n  client_registration: yes\n",
                "auth.server.client_registration",
            ),
            (
                "server:\n  client_metadata_documents: on\n",
                "auth.server.client_metadata_documents",
            ),
            (
                "server:\n  users:\n    alice: hunter2\n",
                "auth.server.users.alice",
            ),
            ("server: {}\njwks: file:/k.json\n", "auth.server"),
            (
                "server: {}\nalgorithms: [RS256]\n",
                "auth.server.signing_algorithm",
            ),
        ];
        for (extra, field) in cases {
            let e = load(&format!("{BUILT_IN}{extra}")).unwrap_err();
            assert!(e.to_string().contains(field), "{extra}: {e}");
        }
        let with_path =
            "issuer: http://127.0.0.1:8940/as\nresource: http://127.0.0.1:8940/mcp\nserver: {}\n";
        assert!(
            load(with_path)
                .unwrap_err()
                .to_string()
                .contains("auth.issuer")
        );
        let ok = load(&format!(
            "{BUILT_IN}server:\n  users:\n    alice: $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA\n    bob: env:BOB_HASH\n"
        ))
        .unwrap();
        assert_eq!(ok.server.unwrap().users.len(), 2);
    }
}
