//! Refresh tokens: one family per grant, rotated on every use, with reuse detection.
//!
//! A family is born when a grant (authorization code, or a `moat token issue`) yields its first
//! refresh token. Each use marks the presented token used and inserts its successor in the same
//! family, in one transaction. Presenting a token that was already used means two parties hold
//! it, so the whole family is revoked and [`StoreError::Reused`] reported: the thief and the
//! victim both lose the grant, and the user signs in again (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
//! There is no grace period for a client retrying a lost response.
//!
//! Tokens are known only by their SHA-256 ([`TokenHash`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use crate::backend::{BeginWrite, on_backend};
use crate::clock;
use crate::error::StoreError;
use crate::ids::{ClientId, FamilyId, Subject};
use crate::scopes::Scopes;
use crate::secret::TokenHash;
use crate::store::Store;

/// Revokes every live family of client `$1` at time `$2` for reason `$3`.
pub(crate) const REVOKE_FOR_CLIENT: &str = "UPDATE refresh_token_families \
     SET revoked_at = $2, revoke_reason = $3 WHERE client_id = $1 AND revoked_at IS NULL";

/// Why a family was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// A used token was presented again.
    Reuse,
    /// Revoked on request (RFC 7009 endpoint, `moat token revoke`, an operator).
    Requested,
    /// Every grant of the client was revoked at once.
    ClientRevoked,
    /// The agent was suspended.
    AgentSuspended,
}

impl RevokeReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reuse => "reuse",
            Self::Requested => "requested",
            Self::ClientRevoked => "client_revoked",
            Self::AgentSuspended => "agent_suspended",
        }
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "reuse" => Ok(Self::Reuse),
            "requested" => Ok(Self::Requested),
            "client_revoked" => Ok(Self::ClientRevoked),
            "agent_suspended" => Ok(Self::AgentSuspended),
            other => Err(StoreError::Corrupt(format!("revoke reason {other:?}"))),
        }
    }
}

/// The chain of refresh tokens born from one grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefreshTokenFamily {
    /// Its id.
    pub id: FamilyId,
    /// The client the grant was made to.
    pub client_id: ClientId,
    /// The user it acts for (the client itself for client-credentials grants).
    pub subject: Subject,
    /// The scopes granted; every token of the family carries exactly these (RFC 6749 §6).
    pub scopes: Scopes,
    /// When the grant was made.
    pub created_at: DateTime<Utc>,
    /// When the family was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoke_reason: Option<RevokeReason>,
}

/// One refresh token, with what its family says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Its family.
    pub family_id: FamilyId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user it acts for.
    pub subject: Subject,
    /// Its scopes (the family's).
    pub scopes: Scopes,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for its successor, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// When it, or its whole family, was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl RefreshToken {
    /// Whether the token can still be exchanged at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// What issuing the first refresh token of a grant takes.
#[derive(Clone, Debug)]
pub struct NewRefreshToken {
    /// SHA-256 of the token handed to the client (see [`OpaqueToken`](crate::OpaqueToken)).
    pub hash: TokenHash,
    /// The client the grant is made to; must be a known agent.
    pub client_id: ClientId,
    /// The user it acts for.
    pub subject: Subject,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// The successor minted when a refresh token is used.
#[derive(Clone, Debug)]
pub struct NextRefreshToken {
    /// SHA-256 of the new token.
    pub hash: TokenHash,
    /// When the new token stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Refresh tokens in the store; from [`Store::refresh_tokens`].
#[derive(Clone, Copy, Debug)]
pub struct RefreshTokens<'s> {
    store: &'s Store,
}

const TOKEN_SELECT: &str = "SELECT t.token_hash, t.family_id, f.client_id, f.subject, f.scopes, \
     t.issued_at, t.expires_at, t.used_at, COALESCE(t.revoked_at, f.revoked_at) AS revoked_at \
     FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id \
     WHERE t.token_hash = $1";

const FAMILY_COLUMNS: &str =
    "id, client_id, subject, scopes, created_at, revoked_at, revoke_reason";

/// Inserts token `$1` into family `$2`, issued at `$3`, expiring at `$4`.
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens (token_hash, family_id, issued_at, expires_at) \
     VALUES ($1, $2, $3, $4)";

/// Marks token `$1` used at `$2` if it is still usable and belongs to client `$3`; returns its
/// family. The row lock (PostgreSQL) or write lock (SQLite) makes this the single winner.
const CLAIM: &str = "UPDATE refresh_tokens SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
     AND family_id IN (SELECT id FROM refresh_token_families \
                       WHERE client_id = $3 AND revoked_at IS NULL) \
     RETURNING family_id";

/// Revokes family `$1` at `$2` for reason `$3`, unless it already is.
const REVOKE_FAMILY: &str = "UPDATE refresh_token_families SET revoked_at = $2, revoke_reason = $3 \
     WHERE id = $1 AND revoked_at IS NULL";

impl<'s> RefreshTokens<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Starts a family with its first token. `NotFound` if the client is not a known agent.
    pub async fn issue(&self, token: &NewRefreshToken) -> Result<RefreshToken, StoreError> {
        let family = FamilyId::generate();
        let now = clock::now();
        let client = token.client_id.as_str();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO refresh_token_families (id, client_id, subject, scopes, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(family.as_str())
            .bind(client)
            .bind(token.subject.as_str())
            .bind(token.scopes.to_stored())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::on_agent_ref(client))?;
            sqlx::query(INSERT_TOKEN)
                .bind(token.hash.as_str())
                .bind(family.as_str())
                .bind(now)
                .bind(clock::stored(token.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::on_insert("refresh token", token.hash.as_str()))?;
            tx.commit().await?;
        });
        self.get(&token.hash).await
    }

    /// Exchanges `presented`, issued to `client`, for its successor `next`, atomically.
    ///
    /// - a usable token: it is marked used and `next` joins its family; the new token is returned;
    /// - an already used token: the whole family is revoked, `Reused`;
    /// - a revoked token or family: `Revoked`; an expired token: `Expired`;
    /// - an unknown token, or one issued to another client: `NotFound` (and nothing changes).
    ///
    /// Of two concurrent calls with the same token exactly one succeeds; the other is `Reused`.
    pub async fn rotate(
        &self,
        client: &ClientId,
        presented: &TokenHash,
        next: &NextRefreshToken,
    ) -> Result<RefreshToken, StoreError> {
        let now = clock::now();
        let outcome = on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let family: Option<String> = sqlx::query_scalar(CLAIM)
                .bind(presented.as_str())
                .bind(now)
                .bind(client.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let outcome = match family {
                Some(family) => {
                    sqlx::query(INSERT_TOKEN)
                        .bind(next.hash.as_str())
                        .bind(&family)
                        .bind(now)
                        .bind(clock::stored(next.expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::on_insert("refresh token", next.hash.as_str()))?;
                    Ok(())
                }
                None => {
                    let row: Option<TokenRow> = sqlx::query_as(TOKEN_SELECT)
                        .bind(presented.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let refusal = refusal(row, client, presented, now);
                    if let Err(StoreError::Reused { family }) = &refusal {
                        sqlx::query(REVOKE_FAMILY)
                            .bind(family.as_str())
                            .bind(now)
                            .bind(RevokeReason::Reuse.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    refusal
                }
            };
            tx.commit().await?;
            outcome
        });
        outcome?;
        self.get(&next.hash).await
    }

    /// The token with this hash, if any.
    pub async fn find(&self, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
        let row: Option<TokenRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(TOKEN_SELECT)
                .bind(hash.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(RefreshToken::try_from).transpose()
    }

    /// The token with this hash, or `NotFound`.
    pub async fn get(&self, hash: &TokenHash) -> Result<RefreshToken, StoreError> {
        self.find(hash)
            .await?
            .ok_or_else(|| StoreError::not_found("refresh token", hash.as_str()))
    }

    /// The family with this id, if any.
    pub async fn family(&self, id: &FamilyId) -> Result<Option<RefreshTokenFamily>, StoreError> {
        let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_token_families WHERE id = $1");
        let row: Option<FamilyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(RefreshTokenFamily::try_from).transpose()
    }

    /// Every family of a client, revoked ones included, oldest first.
    pub async fn families_for_client(
        &self,
        client: &ClientId,
    ) -> Result<Vec<RefreshTokenFamily>, StoreError> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_token_families \
             WHERE client_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<FamilyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql)
                .bind(client.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(RefreshTokenFamily::try_from).collect()
    }

    /// Revokes one token (its family lives on only if the token was not the current one).
    /// `NotFound` if unknown; revoking twice keeps the first time.
    pub async fn revoke(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let sql = "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $2) \
                   WHERE token_hash = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(hash.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "refresh token", hash.as_str())
    }

    /// Revokes a whole family: no token of it will be accepted again. `NotFound` if unknown;
    /// revoking twice keeps the first time and reason.
    pub async fn revoke_family(&self, id: &FamilyId) -> Result<(), StoreError> {
        let sql = "UPDATE refresh_token_families \
                   SET revoke_reason = COALESCE(revoke_reason, $3), revoked_at = COALESCE(revoked_at, $2) \
                   WHERE id = $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(clock::now())
                .bind(RevokeReason::Requested.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        StoreError::found(done, "refresh token family", id.as_str())
    }

    /// Revokes every live family of a client; returns how many were revoked.
    pub async fn revoke_for_client(&self, client: &ClientId) -> Result<u64, StoreError> {
        let done = on_backend!(self.store, |pool| {
            sqlx::query(REVOKE_FOR_CLIENT)
                .bind(client.as_str())
                .bind(clock::now())
                .bind(RevokeReason::ClientRevoked.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    /// Deletes tokens that expired before `before`, then families left without tokens;
    /// returns how many tokens went. A deleted token presented later is simply unknown.
    pub async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = clock::stored(before);
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(
                "DELETE FROM refresh_token_families WHERE NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_token_families.id)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(tokens)
        })
    }
}

/// Why a token that could not be claimed was refused.
fn refusal(
    row: Option<TokenRow>,
    client: &ClientId,
    presented: &TokenHash,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let not_found = || StoreError::not_found("refresh token", presented.as_str());
    let Some(row) = row else {
        return Err(not_found());
    };
    if row.client_id != client.as_str() {
        return Err(not_found());
    }
    if row.used_at.is_some() {
        return Err(StoreError::Reused {
            family: FamilyId::new(row.family_id),
        });
    }
    if row.revoked_at.is_some() {
        return Err(StoreError::Revoked);
    }
    if row.expires_at <= now {
        return Err(StoreError::Expired);
    }
    // Claimable now but not a moment ago: cannot happen inside the transaction; refuse anyway.
    Err(StoreError::Revoked)
}

/// A token joined with its family, as the drivers decode it.
#[derive(FromRow)]
struct TokenRow {
    token_hash: String,
    family_id: String,
    client_id: String,
    subject: String,
    scopes: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for RefreshToken {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        Ok(Self {
            hash: TokenHash::from_stored(row.token_hash),
            family_id: FamilyId::new(row.family_id),
            client_id: ClientId::new(row.client_id),
            subject: Subject::new(row.subject),
            scopes: Scopes::from_stored(&row.scopes)?,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A `refresh_token_families` row.
#[derive(FromRow)]
struct FamilyRow {
    id: String,
    client_id: String,
    subject: String,
    scopes: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoke_reason: Option<String>,
}

impl TryFrom<FamilyRow> for RefreshTokenFamily {
    type Error = StoreError;

    fn try_from(row: FamilyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: FamilyId::new(row.id),
            client_id: ClientId::new(row.client_id),
            subject: Subject::new(row.subject),
            scopes: Scopes::from_stored(&row.scopes)?,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            revoke_reason: row
                .revoke_reason
                .as_deref()
                .map(RevokeReason::from_stored)
                .transpose()?,
        })
    }
}
