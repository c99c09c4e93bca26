//! Standing consents: "agent A may call tool T of server S for user U until E", given by the
//! user while approving one call, or by an operator. A held call that one covers goes ahead
//! without asking again. Each grant is its own row, so revocations and expiry stay on record.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use crate::backend::on_backend;
use crate::clock;
use crate::error::StoreError;
use crate::ids::ToolConsentId;
use crate::store::Store;

/// One standing consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToolConsent {
    /// Its id.
    pub id: ToolConsentId,
    /// The agent it lets call.
    pub agent: String,
    /// The user it lets the agent act for; `None`: the agent acting for itself.
    pub subject: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The tool, under the server's own name.
    pub tool: String,
    /// Who gave it.
    pub granted_by: String,
    /// When.
    pub granted_at: DateTime<Utc>,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A standing consent to give.
#[derive(Clone, Debug)]
pub struct NewToolConsent {
    /// The agent.
    pub agent: String,
    /// The user; `None`: the agent acting for itself.
    pub subject: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// Who gives it.
    pub granted_by: String,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// Standing consents; from [`Store::tool_consents`].
#[derive(Clone, Copy, Debug)]
pub struct ToolConsents<'s> {
    store: &'s Store,
}

macro_rules! columns {
    () => {
        "id, agent, subject, server, tool, granted_by, granted_at, expires_at, revoked_at"
    };
}

impl<'s> ToolConsents<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Records a standing consent.
    pub async fn grant(&self, consent: &NewToolConsent) -> Result<ToolConsent, StoreError> {
        let sql = concat!(
            "INSERT INTO tool_consents (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) RETURNING ",
            columns!()
        );
        let row: ToolConsentRow = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(ToolConsentId::generate().as_str())
                .bind(&consent.agent)
                .bind(consent.subject.as_deref().unwrap_or_default())
                .bind(&consent.server)
                .bind(&consent.tool)
                .bind(&consent.granted_by)
                .bind(clock::now())
                .bind(clock::stored(consent.expires_at))
                .fetch_one(pool)
                .await?
        });
        Ok(row.into())
    }

    /// The consent that lets `agent` call `server`/`tool` for `subject` at `at`, if any (the
    /// one that lasts longest).
    pub async fn covering(
        &self,
        agent: &str,
        subject: Option<&str>,
        server: &str,
        tool: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ToolConsent>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM tool_consents WHERE agent = $1 AND subject = $2 AND server = $3 AND tool = $4 \
              AND revoked_at IS NULL AND expires_at > $5 ORDER BY expires_at DESC LIMIT 1"
        );
        let row: Option<ToolConsentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(agent)
                .bind(subject.unwrap_or_default())
                .bind(server)
                .bind(tool)
                .bind(clock::stored(at))
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(ToolConsent::from))
    }

    /// Consents in force at `at`, soonest to lapse first.
    pub async fn active(&self, at: DateTime<Utc>) -> Result<Vec<ToolConsent>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM tool_consents WHERE revoked_at IS NULL AND expires_at > $1 \
              ORDER BY expires_at, id"
        );
        let rows: Vec<ToolConsentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(clock::stored(at))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(ToolConsent::from).collect())
    }

    /// Revokes one consent. `NotFound` if unknown; revoking twice keeps the first time.
    pub async fn revoke(&self, id: &ToolConsentId) -> Result<(), StoreError> {
        let sql = "UPDATE tool_consents SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "tool consent", id.as_str())
    }
}

/// A `tool_consents` row.
#[derive(FromRow)]
struct ToolConsentRow {
    id: String,
    agent: String,
    subject: String,
    server: String,
    tool: String,
    granted_by: String,
    granted_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ToolConsentRow> for ToolConsent {
    fn from(row: ToolConsentRow) -> Self {
        Self {
            id: ToolConsentId::new(row.id),
            agent: row.agent,
            subject: Some(row.subject).filter(|s| !s.is_empty()),
            server: row.server,
            tool: row.tool,
            granted_by: row.granted_by,
            granted_at: row.granted_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}
