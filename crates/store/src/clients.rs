//! OAuth registrations with the built-in authorization server.
//!
//! A registration belongs to an [`Agent`](crate::Agent) with the same id: the agent holds the
//! identity (status, owner, allowed scopes), the registration how it authenticates and where
//! codes may be sent. Registering a client creates both in one transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::agents::{Agent, AgentRow, NewAgent, REGISTER};
use crate::backend::{BeginWrite, on_backend};
use crate::clock;
use crate::error::StoreError;
use crate::ids::ClientId;
use crate::secret::SecretHash;
use crate::store::Store;

/// An OAuth grant type a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code with PKCE.
    AuthorizationCode,
    /// Refresh token.
    RefreshToken,
    /// Client credentials (headless agents).
    ClientCredentials,
}

impl GrantType {
    /// The RFC 7591 name, also the stored one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "refresh_token" => Ok(Self::RefreshToken),
            "client_credentials" => Ok(Self::ClientCredentials),
            other => Err(StoreError::Corrupt(format!("grant type {other:?}"))),
        }
    }
}

/// How an agent authenticates to the built-in authorization server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OAuthClient {
    /// The agent's id.
    pub client_id: ClientId,
    /// Where authorization codes may be sent; matched exactly.
    pub redirect_uris: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// argon2id of its secret; `None` for a public client (PKCE only).
    #[serde(skip)]
    pub secret_hash: Option<SecretHash>,
    /// When it registered.
    pub created_at: DateTime<Utc>,
}

impl OAuthClient {
    /// Whether the client has a secret (a confidential client).
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }

    /// Whether `presented` is the client's secret. Always false for a public client.
    pub fn verify_secret(&self, presented: &str) -> bool {
        self.secret_hash
            .as_ref()
            .is_some_and(|hash| hash.verify(presented))
    }

    /// Whether `uri` is one of the registered redirect URIs, compared exactly.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// What registering a client takes: its agent identity and its OAuth metadata.
#[derive(Clone, Debug)]
pub struct NewOAuthClient {
    /// The agent record to create (or promote from `unregistered`).
    pub agent: NewAgent,
    /// Where authorization codes may be sent.
    pub redirect_uris: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// argon2id of its secret, for a confidential client.
    pub secret_hash: Option<SecretHash>,
}

/// OAuth registrations in the store; from [`Store::clients`].
#[derive(Clone, Copy, Debug)]
pub struct Clients<'s> {
    store: &'s Store,
}

const CLIENT_COLUMNS: &str = "client_id, redirect_uris, grant_types, secret_hash, created_at";

impl<'s> Clients<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Registers a client: its agent and its OAuth metadata, in one transaction. `Conflict` if
    /// an agent or a registration with that id exists (an `unregistered` agent is promoted).
    pub async fn register(
        &self,
        client: &NewOAuthClient,
    ) -> Result<(Agent, OAuthClient), StoreError> {
        let id = client.agent.id.as_str();
        let redirect_uris = serde_json::to_string(&client.redirect_uris)
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        let now = clock::now();
        let insert = format!(
            "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             RETURNING {CLIENT_COLUMNS}"
        );
        let (agent, row): (Option<AgentRow>, ClientRow) = on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let agent: Option<AgentRow> = sqlx::query_as(REGISTER)
                .bind(id)
                .bind(&client.agent.name)
                .bind(client.agent.owner.as_deref())
                .bind(client.agent.allowed_scopes.to_stored())
                .bind(client.agent.admission.status().as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if agent.is_none() {
                return Err(StoreError::conflict("agent", id));
            }
            let row: ClientRow = sqlx::query_as(&insert)
                .bind(id)
                .bind(&redirect_uris)
                .bind(grant_types_stored(&client.grant_types))
                .bind(client.secret_hash.as_ref().map(SecretHash::as_str))
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::on_insert("oauth client", id))?;
            tx.commit().await?;
            (agent, row)
        });
        let agent = agent.ok_or_else(|| StoreError::conflict("agent", id))?;
        Ok((agent.try_into()?, row.try_into()?))
    }

    /// The registration with this id, if any.
    pub async fn find(&self, id: &ClientId) -> Result<Option<OAuthClient>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1");
        let row: Option<ClientRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(OAuthClient::try_from).transpose()
    }

    /// The registration with this id, or `NotFound`.
    pub async fn get(&self, id: &ClientId) -> Result<OAuthClient, StoreError> {
        self.find(id)
            .await?
            .ok_or_else(|| StoreError::not_found("oauth client", id.as_str()))
    }

    /// Every registration, ordered by id.
    pub async fn list(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY client_id");
        let rows: Vec<ClientRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(OAuthClient::try_from).collect()
    }

    /// Replaces the client's secret (or makes it public with `None`).
    pub async fn set_secret(
        &self,
        id: &ClientId,
        secret_hash: Option<&SecretHash>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE oauth_clients SET secret_hash = $2 WHERE client_id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(secret_hash.map(SecretHash::as_str))
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "oauth client", id.as_str())
    }

    /// Removes the registration, keeping the agent (which can then use only an external
    /// issuer's tokens). To forget the agent too, use [`Agents::delete`](crate::Agents::delete).
    pub async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        let sql = "DELETE FROM oauth_clients WHERE client_id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "oauth client", id.as_str())
    }
}

fn grant_types_stored(grants: &[GrantType]) -> String {
    grants
        .iter()
        .map(|grant| grant.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An `oauth_clients` row.
#[derive(FromRow)]
struct ClientRow {
    client_id: String,
    redirect_uris: String,
    grant_types: String,
    secret_hash: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ClientRow> for OAuthClient {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let redirect_uris = serde_json::from_str(&row.redirect_uris)
            .map_err(|error| StoreError::Corrupt(format!("redirect_uris: {error}")))?;
        let grant_types = row
            .grant_types
            .split(' ')
            .filter(|grant| !grant.is_empty())
            .map(GrantType::from_stored)
            .collect::<Result<_, _>>()?;
        let secret_hash = row
            .secret_hash
            .as_deref()
            .map(SecretHash::from_phc)
            .transpose()
            .map_err(|error| StoreError::Corrupt(format!("secret_hash: {error}")))?;
        Ok(Self {
            client_id: ClientId::new(row.client_id),
            redirect_uris,
            grant_types,
            secret_hash,
            created_at: row.created_at,
        })
    }
}
