//! Minting, keys and revocation of the built-in authorization server, over the store. Shared
//! by the HTTP endpoints and the CLI (`moat token`, `moat keys`), so both follow one set of
//! rules: an active agent, scopes within its allowance, a lifetime within the cap.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moat_config::{AuthConfig, TokenAlgorithm};
use moat_identity::{KeySet, TokenPolicy, validate};
use moat_oauth::keys::{KeyAlgorithm, Signer, generate};
use moat_oauth::mint::{AccessClaims, mint};
use moat_store::chrono::{DateTime, TimeDelta, Utc};
use moat_store::{
    AgentStatus, ClientId, KeyId, NewSigningKey, PrivateKeyDer, SigningAlgorithm, SigningKey,
    Store, StoreError,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// Why a token could not be issued, or a key rotated.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The agent is unknown.
    #[error("no agent {0:?} is registered")]
    UnknownAgent(String),
    /// The agent may not get tokens now.
    #[error("agent {0:?} is {1}")]
    AgentNotActive(String, &'static str),
    /// A scope beyond the agent's allowance.
    #[error("scope {0:?} is not allowed for agent {1:?}")]
    ScopeNotAllowed(String, String),
    /// A lifetime beyond the cap.
    #[error("a token lifetime of {0:?} exceeds the maximum of {1:?}")]
    TooLong(Duration, Duration),
    /// A stored key is unusable.
    #[error("signing key: {0}")]
    Key(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A freshly minted access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The scopes it carries.
    pub scopes: Vec<String>,
}

/// What revoking an access token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// It is revoked from now on.
    Now {
        /// The token's id.
        jti: String,
    },
    /// It was revoked already, or has expired: nothing to do.
    AlreadyInactive,
}

/// The issuing side of the built-in authorization server.
pub struct Issuer {
    store: Store,
    issuer: String,
    resource: String,
    algorithm: KeyAlgorithm,
    access_ttl: Duration,
    max_ttl: Duration,
    policy: TokenPolicy,
    /// The signer of the active key, rebuilt when another process rotated it.
    signer: Mutex<Option<Arc<Signer>>>,
}

impl Issuer {
    /// The issuer of `auth`, when it configures the built-in server.
    pub fn new(store: Store, auth: &AuthConfig) -> Option<Self> {
        let server = auth.server.as_ref()?;
        let algorithm = match server.signing_algorithm {
            TokenAlgorithm::Es256 => KeyAlgorithm::Es256,
            _ => KeyAlgorithm::EdDsa,
        };
        Some(Self {
            store,
            issuer: auth.issuer.clone(),
            resource: auth.resource.clone(),
            algorithm,
            access_ttl: server.access_token_ttl,
            max_ttl: Duration::from_secs(3600).min(auth.max_token_lifetime),
            policy: TokenPolicy {
                issuer: auth.issuer.clone(),
                audience: auth.resource.clone(),
                algorithms: vec![
                    moat_identity::Algorithm::EdDSA,
                    moat_identity::Algorithm::ES256,
                ],
                leeway_secs: auth.leeway.as_secs(),
                max_lifetime_secs: auth.max_token_lifetime.as_secs(),
            },
            signer: Mutex::new(None),
        })
    }

    /// moat's issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// moat's resource URI.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The store it works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes sure a signing key is active, generating the first one if needed.
    pub async fn ensure_key(&self) -> Result<SigningKey, IssueError> {
        match self.store.signing_keys().active().await? {
            Some(key) => Ok(key),
            None => match self.rotate_key(None).await {
                Ok(key) => Ok(key),
                // Another instance made the first key at the same moment: use it.
                Err(IssueError::Store(StoreError::Conflict { .. })) => self
                    .store
                    .signing_keys()
                    .active()
                    .await?
                    .ok_or_else(|| IssueError::Key("no active key after a race".into())),
                Err(e) => Err(e),
            },
        }
    }

    /// Puts a new key into service. The old one stays published until every token it signed
    /// has expired (the longest lifetime plus leeway).
    pub async fn rotate_key(
        &self,
        algorithm: Option<KeyAlgorithm>,
    ) -> Result<SigningKey, IssueError> {
        let algorithm = algorithm.unwrap_or(self.algorithm);
        let key = generate(algorithm).map_err(|e| IssueError::Key(e.to_string()))?;
        let new = NewSigningKey {
            kid: KeyId::new(key.kid.clone()),
            algorithm: match algorithm {
                KeyAlgorithm::EdDsa => SigningAlgorithm::EdDSA,
                KeyAlgorithm::Es256 => SigningAlgorithm::ES256,
            },
            private_key: PrivateKeyDer::new(key.pkcs8.clone()),
            public_jwk: key.public_jwk.to_string(),
        };
        let keep = self.max_ttl + Duration::from_secs(self.policy.leeway_secs);
        let keep = TimeDelta::from_std(keep).unwrap_or(TimeDelta::hours(1));
        Ok(self.store.signing_keys().rotate(&new, keep).await?)
    }

    /// The published keys as a JWKS document.
    pub async fn jwks(&self) -> Result<Value, IssueError> {
        let keys = self.store.signing_keys().published(Utc::now()).await?;
        let keys: Vec<Value> = keys
            .iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// Mints an access token for `client` acting for `subject` with `scopes`. The agent must be
    /// active and allowed every scope; `ttl` defaults to the configured lifetime.
    pub async fn access_token(
        &self,
        client: &str,
        subject: &str,
        scopes: &[String],
        ttl: Option<Duration>,
    ) -> Result<IssuedToken, IssueError> {
        let ttl = ttl.unwrap_or(self.access_ttl);
        if ttl > self.max_ttl || ttl.is_zero() {
            return Err(IssueError::TooLong(ttl, self.max_ttl));
        }
        let id = ClientId::new(client);
        let agent = self
            .store
            .agents()
            .find(&id)
            .await?
            .ok_or_else(|| IssueError::UnknownAgent(client.to_owned()))?;
        if agent.status != AgentStatus::Active {
            return Err(IssueError::AgentNotActive(
                client.to_owned(),
                agent.status.as_str(),
            ));
        }
        if let Some(beyond) = scopes.iter().find(|s| !agent.allowed_scopes.contains(s)) {
            return Err(IssueError::ScopeNotAllowed(
                beyond.clone(),
                client.to_owned(),
            ));
        }
        let signer = self.signer().await?;
        let now = unix_now();
        let jti = moat_store::OpaqueToken::generate().expose().to_owned();
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.resource.clone(),
            client_id: client.to_owned(),
            scope: scopes.join(" "),
            iat: now,
            exp: now + ttl.as_secs(),
            jti: jti.clone(),
        };
        let token = mint(&signer, &claims).map_err(|e| IssueError::Key(e.to_string()))?;
        self.store.agents().record_token_issued(&id).await?;
        Ok(IssuedToken {
            token,
            jti,
            expires_in: ttl.as_secs(),
            scopes,
        })
    }

    /// Revokes an access token this server issued (its signature is checked first, so nobody
    /// can fill the revocation log with made-up ids). `client`, when given, must be the
    /// token's (RFC 7009 §2.1: a client revokes only its own tokens).
    pub async fn revoke_access_token(
        &self,
        token: &str,
        client: Option<&str>,
    ) -> Result<Option<Revoked>, IssueError> {
        let jwks = self.jwks().await?;
        let Ok(keys) = KeySet::from_json(&jwks.to_string()) else {
            return Ok(None);
        };
        let principal = match validate(token, &keys, &self.policy, unix_now()) {
            Ok(p) => p,
            Err(moat_identity::TokenError::Expired) => return Ok(Some(Revoked::AlreadyInactive)),
            Err(_) => return Ok(None),
        };
        let owner = principal.client_id.clone().unwrap_or_default();
        if client.is_some_and(|c| c != owner) {
            return Ok(None);
        }
        let Some(jti) = principal.token_id else {
            return Ok(None);
        };
        let expires_at = DateTime::<Utc>::from_timestamp(
            i64::try_from(principal.expires_at).unwrap_or(i64::MAX),
            0,
        )
        .unwrap_or_else(Utc::now);
        let newly = self
            .store
            .revocations()
            .revoke(&jti, &owner, expires_at)
            .await?;
        Ok(Some(if newly {
            Revoked::Now { jti }
        } else {
            Revoked::AlreadyInactive
        }))
    }

    async fn signer(&self) -> Result<Arc<Signer>, IssueError> {
        let active = self.ensure_key().await?;
        if let Some(s) = self.signer.lock().as_ref()
            && s.kid() == active.kid.as_str()
        {
            return Ok(s.clone());
        }
        let algorithm = match active.algorithm {
            SigningAlgorithm::EdDSA => KeyAlgorithm::EdDsa,
            SigningAlgorithm::ES256 => KeyAlgorithm::Es256,
        };
        let signer = Signer::new(
            active.kid.as_str(),
            algorithm,
            active.private_key.as_bytes(),
        )
        .map_err(|e| IssueError::Key(e.to_string()))?;
        let signer = Arc::new(signer);
        *self.signer.lock() = Some(signer.clone());
        Ok(signer)
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
