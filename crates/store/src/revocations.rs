//! Access tokens revoked before their expiry. JWTs cannot be recalled, so every gateway keeps
//! the list of revoked `jti`s in memory and follows this table by its `seq` cursor; rows are
//! purged once the token would have expired anyway.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::backend::on_backend;
use crate::clock;
use crate::error::StoreError;
use crate::store::Store;

/// One revoked access token.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct RevokedToken {
    /// Its position in the revocation log.
    pub seq: i64,
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// When it would have expired.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: DateTime<Utc>,
}

/// Revoked access tokens; from [`Store::revocations`].
#[derive(Clone, Copy, Debug)]
pub struct Revocations<'s> {
    store: &'s Store,
}

impl<'s> Revocations<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Revokes the token `jti` of `client_id`, expiring at `expires_at`. Revoking a token twice
    /// is not an error; returns whether this call revoked it.
    pub async fn revoke(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(jti)
                .bind(client_id)
                .bind(clock::stored(expires_at))
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Revocations after `seq`, or made after `since`, of tokens still unexpired at `at`, in log
    /// order. Followers pass a `since` some seconds before their last read: on PostgreSQL a
    /// `seq` is taken before its transaction commits, so a lower one can become visible after
    /// a higher one was read.
    pub async fn after(
        &self,
        seq: i64,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<RevokedToken>, StoreError> {
        let sql = "SELECT seq, jti, client_id, expires_at, revoked_at FROM revoked_access_tokens \
                   WHERE (seq > $1 OR revoked_at > $3) AND expires_at > $2 ORDER BY seq";
        let rows = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(seq)
                .bind(clock::stored(at))
                .bind(clock::stored(since))
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Whether the token `jti` is revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1";
        let n: i64 = on_backend!(self.store, |pool| {
            sqlx::query_scalar(sql).bind(jti).fetch_one(pool).await?
        });
        Ok(n > 0)
    }

    /// Forgets revocations of tokens expired before `before`; returns how many.
    pub async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "DELETE FROM revoked_access_tokens WHERE expires_at <= $1";
        let n = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(clock::stored(before))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
