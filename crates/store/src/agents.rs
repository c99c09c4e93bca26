//! Agents: every non-human identity moat knows.
//!
//! An agent *is* an OAuth client: its id is the `client_id` its tokens carry, whichever issuer
//! minted them. Clients of the built-in authorization server also have an
//! [`OAuthClient`](crate::OAuthClient) registration (redirect URIs, secret); agents of an external
//! issuer have only this record. Status, scopes and ownership live here, once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::backend::{BeginWrite, on_backend};
use crate::clock;
use crate::error::StoreError;
use crate::ids::ClientId;
use crate::refresh::{REVOKE_FOR_CLIENT, RevokeReason};
use crate::scopes::Scopes;
use crate::store::Store;

/// Where an agent stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    /// May obtain and use tokens.
    Active,
    /// Blocked by an operator; its refresh tokens were revoked when it was suspended.
    Suspended,
    /// Registered (e.g. by Dynamic Client Registration) and waiting for approval.
    Pending,
    /// Seen with a valid token from an external issuer but never registered: shadow AI, flagged.
    Unregistered,
}

impl AgentStatus {
    /// The stored (and displayed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Pending => "pending",
            Self::Unregistered => "unregistered",
        }
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "pending" => Ok(Self::Pending),
            "unregistered" => Ok(Self::Unregistered),
            other => Err(StoreError::Corrupt(format!("agent status {other:?}"))),
        }
    }
}

/// The status a newly registered agent starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Usable at once.
    Activate,
    /// Held until an operator approves it (`resume`).
    HoldPending,
}

impl Admission {
    pub(crate) fn status(self) -> AgentStatus {
        match self {
            Self::Activate => AgentStatus::Active,
            Self::HoldPending => AgentStatus::Pending,
        }
    }
}

/// A known agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Agent {
    /// Its identity, equal to its OAuth `client_id`.
    pub id: ClientId,
    /// A human-readable name.
    pub name: String,
    /// The human or team answerable for it; unknown for unregistered agents.
    pub owner: Option<String>,
    /// The most it may ever be granted.
    pub allowed_scopes: Scopes,
    /// Where it stands.
    pub status: AgentStatus,
    /// When moat first recorded it.
    pub created_at: DateTime<Utc>,
    /// When it last presented a valid token, if ever.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Access tokens the built-in authorization server issued to it.
    pub tokens_issued: u64,
}

/// What registering an agent takes.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Its identity (the `client_id`).
    pub id: ClientId,
    /// A human-readable name.
    pub name: String,
    /// The human or team answerable for it.
    pub owner: Option<String>,
    /// The most it may ever be granted.
    pub allowed_scopes: Scopes,
    /// Active at once, or pending approval.
    pub admission: Admission,
}

/// Agents in the store; from [`Store::agents`].
#[derive(Clone, Copy, Debug)]
pub struct Agents<'s> {
    store: &'s Store,
}

macro_rules! agent_columns {
    () => {
        "id, name, owner, allowed_scopes, status, created_at, last_seen_at, tokens_issued"
    };
}

/// Inserts agent `$1` (name `$2`, owner `$3`, scopes `$4`, status `$5`, created `$6`), or
/// promotes it if it is only `unregistered`; returns no row when it exists otherwise.
pub(crate) const REGISTER: &str = concat!(
    "INSERT INTO agents (id, name, owner, allowed_scopes, status, created_at, tokens_issued) ",
    "VALUES ($1, $2, $3, $4, $5, $6, 0) ",
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner = excluded.owner, ",
    "allowed_scopes = excluded.allowed_scopes, status = excluded.status ",
    "WHERE agents.status = 'unregistered' ",
    "RETURNING ",
    agent_columns!()
);

impl<'s> Agents<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Registers an agent. An agent only ever seen (`unregistered`) is promoted, keeping its
    /// history; any other existing agent with that id is a `Conflict`.
    pub async fn register(&self, agent: &NewAgent) -> Result<Agent, StoreError> {
        let row: Option<AgentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(REGISTER)
                .bind(agent.id.as_str())
                .bind(&agent.name)
                .bind(agent.owner.as_deref())
                .bind(agent.allowed_scopes.to_stored())
                .bind(agent.admission.status().as_str())
                .bind(clock::now())
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::conflict("agent", agent.id.as_str()))?
            .try_into()
    }

    /// The agent with this id, if any.
    pub async fn find(&self, id: &ClientId) -> Result<Option<Agent>, StoreError> {
        let sql = concat!("SELECT ", agent_columns!(), " FROM agents WHERE id = $1");
        let row: Option<AgentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(Agent::try_from).transpose()
    }

    /// The agent with this id, or `NotFound`.
    pub async fn get(&self, id: &ClientId) -> Result<Agent, StoreError> {
        self.find(id)
            .await?
            .ok_or_else(|| StoreError::not_found("agent", id.as_str()))
    }

    /// Every agent, or those with one status, ordered by id.
    pub async fn list(&self, status: Option<AgentStatus>) -> Result<Vec<Agent>, StoreError> {
        let sql = concat!(
            "SELECT ",
            agent_columns!(),
            " FROM agents WHERE $1 IS NULL OR status = $1 ORDER BY id"
        );
        let filter = status.map(AgentStatus::as_str);
        let rows: Vec<AgentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql).bind(filter).fetch_all(pool).await?
        });
        rows.into_iter().map(Agent::try_from).collect()
    }

    /// Suspends an agent and, in the same transaction, revokes every refresh-token family it
    /// holds. Access tokens already issued stay valid until the gateway sees the status, which
    /// it checks on every request.
    pub async fn suspend(&self, id: &ClientId) -> Result<Agent, StoreError> {
        let sql = concat!(
            "UPDATE agents SET status = 'suspended' WHERE id = $1 RETURNING ",
            agent_columns!()
        );
        let now = clock::now();
        let row: Option<AgentRow> = on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query_as(sql)
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(REVOKE_FOR_CLIENT)
                .bind(id.as_str())
                .bind(now)
                .bind(RevokeReason::AgentSuspended.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        row.ok_or_else(|| StoreError::not_found("agent", id.as_str()))?
            .try_into()
    }

    /// Makes a suspended or pending agent active (this is also how a pending registration is
    /// approved). An unregistered agent must be registered instead: `Conflict`.
    pub async fn resume(&self, id: &ClientId) -> Result<Agent, StoreError> {
        let sql = concat!(
            "UPDATE agents SET status = 'active' WHERE id = $1 AND status <> 'unregistered' ",
            "RETURNING ",
            agent_columns!()
        );
        let row: Option<AgentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(row) => row.try_into(),
            None => match self.find(id).await? {
                Some(_) => Err(StoreError::conflict("unregistered agent", id.as_str())),
                None => Err(StoreError::not_found("agent", id.as_str())),
            },
        }
    }

    /// Records that a registered agent was just seen. `NotFound` if it is not known.
    pub async fn touch(&self, id: &ClientId) -> Result<(), StoreError> {
        let sql = "UPDATE agents SET last_seen_at = $2 WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "agent", id.as_str())
    }

    /// Records that an agent presented a valid token: updates `last_seen_at`, and records an
    /// agent moat did not know as `unregistered` (named after its id). Returns the agent so the
    /// caller can flag unregistered ones.
    ///
    /// This writes; the gateway should call it at most every so often per agent, not on every
    /// request.
    pub async fn record_seen(&self, id: &ClientId) -> Result<Agent, StoreError> {
        let sql = concat!(
            "INSERT INTO agents (id, name, owner, allowed_scopes, status, created_at, last_seen_at, tokens_issued) ",
            "VALUES ($1, $1, NULL, '', 'unregistered', $2, $2, 0) ",
            "ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at ",
            "RETURNING ",
            agent_columns!()
        );
        let row: AgentRow = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .bind(clock::now())
                .fetch_one(pool)
                .await?
        });
        row.try_into()
    }

    /// Counts one more access token issued to the agent. `NotFound` if it is not known.
    pub async fn record_token_issued(&self, id: &ClientId) -> Result<(), StoreError> {
        let sql = "UPDATE agents SET tokens_issued = tokens_issued + 1 WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "agent", id.as_str())
    }

    /// Forgets an agent with its OAuth registration, refresh tokens and consents.
    pub async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        let sql = "DELETE FROM agents WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "agent", id.as_str())
    }
}

/// An `agents` row as the drivers decode it.
#[derive(FromRow)]
pub(crate) struct AgentRow {
    id: String,
    name: String,
    owner: Option<String>,
    allowed_scopes: String,
    status: String,
    created_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
    tokens_issued: i64,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;

    fn try_from(row: AgentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: ClientId::new(row.id),
            name: row.name,
            owner: row.owner,
            allowed_scopes: Scopes::from_stored(&row.allowed_scopes)?,
            status: AgentStatus::from_stored(&row.status)?,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            tokens_issued: u64::try_from(row.tokens_issued).unwrap_or(0),
        })
    }
}
