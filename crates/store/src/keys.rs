//! The built-in authorization server's signing keys.
//!
//! Exactly one key is active (signs new tokens; a unique index enforces it). Rotation retires
//! it and inserts its successor in one transaction; the retired key stays *published* in the
//! JWKS until `expires_at`, set at retirement to outlive the last token it signed.
//!
//! Private keys are stored as PKCS#8 DER, **unencrypted** for now: protect the database file or
//! role accordingly. Encryption at rest (a key-encryption key from a secret reference) comes
//! later and will be a migration plus a change confined to this module.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::backend::{BeginWrite, on_backend};
use crate::clock;
use crate::error::StoreError;
use crate::ids::KeyId;
use crate::store::Store;

/// A JWS algorithm moat signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// Ed25519.
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name, also the stored one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
        }
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            other => Err(StoreError::Corrupt(format!("signing algorithm {other:?}"))),
        }
    }
}

/// A private key as PKCS#8 DER. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(Vec<u8>);

impl PrivateKeyDer {
    /// Wraps PKCS#8 DER bytes.
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes, to build a signer from.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyDer(<{} bytes redacted>)", self.0.len())
    }
}

/// A signing key with its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKey {
    /// Its `kid`.
    pub kid: KeyId,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// The private key.
    pub private_key: PrivateKeyDer,
    /// The public key as a JWK (a JSON object), as published.
    pub public_jwk: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stopped signing, if it did.
    pub retired_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS; set at retirement.
    pub expires_at: Option<DateTime<Utc>>,
}

impl SigningKey {
    /// Whether the key signs new tokens.
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }

    /// Whether the key belongs in the JWKS at `at`.
    pub fn is_published(&self, at: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| expiry > at)
    }
}

/// A freshly generated key to put into service.
#[derive(Clone, Debug)]
pub struct NewSigningKey {
    /// Its `kid`.
    pub kid: KeyId,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// The private key.
    pub private_key: PrivateKeyDer,
    /// The public key as a JWK (a JSON object).
    pub public_jwk: String,
}

/// Signing keys in the store; from [`Store::signing_keys`].
#[derive(Clone, Copy, Debug)]
pub struct SigningKeys<'s> {
    store: &'s Store,
}

macro_rules! key_columns {
    () => {
        "kid, algorithm, private_key, public_jwk, created_at, retired_at, expires_at"
    };
}

impl<'s> SigningKeys<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Puts `key` into service: the active key (if any) is retired and kept published for
    /// `keep_published_for` (at least the longest access-token lifetime), then `key` is inserted
    /// as the active one, in one transaction. Also how the first key is added.
    ///
    /// `Conflict` if the `kid` exists, or if another rotation won a race.
    pub async fn rotate(
        &self,
        key: &NewSigningKey,
        keep_published_for: TimeDelta,
    ) -> Result<SigningKey, StoreError> {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&key.public_jwk)
            .map_err(|error| StoreError::Invalid(format!("public JWK: {error}")))?;
        let now = clock::now();
        let until = now
            .checked_add_signed(keep_published_for)
            .ok_or_else(|| StoreError::Invalid("keep_published_for overflows".into()))?;
        let insert = concat!(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_jwk, created_at) ",
            "VALUES ($1, $2, $3, $4, $5) RETURNING ",
            key_columns!()
        );
        let kid = key.kid.as_str();
        let row: KeyRow = on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE retired_at IS NULL",
            )
            .bind(now)
            .bind(until)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query_as(insert)
                .bind(kid)
                .bind(key.algorithm.as_str())
                .bind(key.private_key.as_bytes())
                .bind(&key.public_jwk)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::on_insert("signing key", kid))?;
            tx.commit().await?;
            row
        });
        row.try_into()
    }

    /// The key that signs new tokens, if there is one.
    pub async fn active(&self) -> Result<Option<SigningKey>, StoreError> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys WHERE retired_at IS NULL"
        );
        let row: Option<KeyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql).fetch_optional(pool).await?
        });
        row.map(SigningKey::try_from).transpose()
    }

    /// The keys for the JWKS at `at`: the active one and the retired ones not yet expired,
    /// newest first.
    pub async fn published(&self, at: DateTime<Utc>) -> Result<Vec<SigningKey>, StoreError> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 ",
            "ORDER BY created_at DESC, kid"
        );
        let rows: Vec<KeyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(clock::stored(at))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(SigningKey::try_from).collect()
    }

    /// Every key, expired ones included, newest first.
    pub async fn list(&self) -> Result<Vec<SigningKey>, StoreError> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys ORDER BY created_at DESC, kid"
        );
        let rows: Vec<KeyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        rows.into_iter().map(SigningKey::try_from).collect()
    }

    /// The key with this `kid`, if any.
    pub async fn find(&self, kid: &KeyId) -> Result<Option<SigningKey>, StoreError> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys WHERE kid = $1"
        );
        let row: Option<KeyRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(kid.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(SigningKey::try_from).transpose()
    }

    /// Deletes keys that left the JWKS before `before`; returns how many.
    pub async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "DELETE FROM signing_keys WHERE expires_at < $1";
        let done = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(clock::stored(before))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}

/// A `signing_keys` row.
#[derive(FromRow)]
struct KeyRow {
    kid: String,
    algorithm: String,
    private_key: Vec<u8>,
    public_jwk: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for SigningKey {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        Ok(Self {
            kid: KeyId::new(row.kid),
            algorithm: SigningAlgorithm::from_stored(&row.algorithm)?,
            private_key: PrivateKeyDer::new(row.private_key),
            public_jwk: row.public_jwk,
            created_at: row.created_at,
            retired_at: row.retired_at,
            expires_at: row.expires_at,
        })
    }
}
