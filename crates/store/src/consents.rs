//! Users' consents to clients: "user U lets client C act with scopes S", from the consent page
//! of the built-in authorization server. Each grant is its own row, so revocations and expiry
//! stay on record; "does U consent to C for S?" asks for one active grant covering S.
//!
//! Consent to a single tool call, and standing approvals of tools (issue 5), are not these: they
//! get their own tables.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use crate::backend::on_backend;
use crate::clock;
use crate::error::StoreError;
use crate::ids::{ClientId, ConsentId, Subject};
use crate::scopes::Scopes;
use crate::store::Store;

/// One consent grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consent {
    /// Its id.
    pub id: ConsentId,
    /// The user who consented.
    pub subject: Subject,
    /// The client consented to.
    pub client_id: ClientId,
    /// The scopes consented to.
    pub scopes: Scopes,
    /// When consent was given.
    pub granted_at: DateTime<Utc>,
    /// When it lapses; `None` for until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Consent {
    /// Whether the consent holds at `at`.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| expiry > at)
    }
}

/// What recording a consent takes.
#[derive(Clone, Debug)]
pub struct NewConsent {
    /// The user who consents.
    pub subject: Subject,
    /// The client consented to; must be a known agent.
    pub client_id: ClientId,
    /// The scopes consented to.
    pub scopes: Scopes,
    /// When it lapses; `None` for until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Consents in the store; from [`Store::consents`].
#[derive(Clone, Copy, Debug)]
pub struct Consents<'s> {
    store: &'s Store,
}

macro_rules! consent_columns {
    () => {
        "id, subject, client_id, scopes, granted_at, expires_at, revoked_at"
    };
}

/// The filter for consents active at `$2`, placed after a condition on `$1`.
macro_rules! active_at_2 {
    () => {
        " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) ORDER BY granted_at, id"
    };
}

impl<'s> Consents<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Records a consent. `NotFound` if the client is not a known agent.
    pub async fn grant(&self, consent: &NewConsent) -> Result<Consent, StoreError> {
        let sql = concat!(
            "INSERT INTO consents (id, subject, client_id, scopes, granted_at, expires_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            consent_columns!()
        );
        let client = consent.client_id.as_str();
        let row: ConsentRow = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(ConsentId::generate().as_str())
                .bind(consent.subject.as_str())
                .bind(client)
                .bind(consent.scopes.to_stored())
                .bind(clock::now())
                .bind(consent.expires_at.map(clock::stored))
                .fetch_one(pool)
                .await
                .map_err(StoreError::on_agent_ref(client))?
        });
        row.try_into()
    }

    /// The consents `subject` has given that hold at `at`, oldest first.
    pub async fn active_for_subject(
        &self,
        subject: &Subject,
        at: DateTime<Utc>,
    ) -> Result<Vec<Consent>, StoreError> {
        let sql = concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE subject = $1",
            active_at_2!()
        );
        self.fetch_active(sql, subject.as_str(), at).await
    }

    /// The consents given to `client` that hold at `at`, oldest first.
    pub async fn active_for_client(
        &self,
        client: &ClientId,
        at: DateTime<Utc>,
    ) -> Result<Vec<Consent>, StoreError> {
        let sql = concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE client_id = $1",
            active_at_2!()
        );
        self.fetch_active(sql, client.as_str(), at).await
    }

    async fn fetch_active(
        &self,
        sql: &'static str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Consent>, StoreError> {
        let rows: Vec<ConsentRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(key)
                .bind(clock::stored(at))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Consent::try_from).collect()
    }

    /// An active consent of `subject` to `client` that covers every scope in `scopes`, if any.
    pub async fn covering(
        &self,
        subject: &Subject,
        client: &ClientId,
        scopes: &Scopes,
        at: DateTime<Utc>,
    ) -> Result<Option<Consent>, StoreError> {
        let active = self.active_for_subject(subject, at).await?;
        Ok(active
            .into_iter()
            .find(|consent| consent.client_id == *client && consent.scopes.covers(scopes)))
    }

    /// Revokes one consent. `NotFound` if unknown; revoking twice keeps the first time.
    pub async fn revoke(&self, id: &ConsentId) -> Result<(), StoreError> {
        let sql = "UPDATE consents SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "consent", id.as_str())
    }

    /// Revokes every live consent `subject` gave `client`; returns how many.
    pub async fn revoke_for(
        &self,
        subject: &Subject,
        client: &ClientId,
    ) -> Result<u64, StoreError> {
        let sql = "UPDATE consents SET revoked_at = $3 \
                   WHERE subject = $1 AND client_id = $2 AND revoked_at IS NULL";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(subject.as_str())
                .bind(client.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}

/// A `consents` row.
#[derive(FromRow)]
struct ConsentRow {
    id: String,
    subject: String,
    client_id: String,
    scopes: String,
    granted_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ConsentRow> for Consent {
    type Error = StoreError;

    fn try_from(row: ConsentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: ConsentId::new(row.id),
            subject: Subject::new(row.subject),
            client_id: ClientId::new(row.client_id),
            scopes: Scopes::from_stored(&row.scopes)?,
            granted_at: row.granted_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}
