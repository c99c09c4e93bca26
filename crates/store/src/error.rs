//! The one error type of the store.

use thiserror::Error;

use crate::ids::FamilyId;

/// Everything a store operation can fail with.
///
/// The variants a caller branches on (`NotFound`, `Conflict`, `Reused`, `Revoked`, `Expired`,
/// `Invalid`) are answers about the data; `Unavailable`, `Backend`, `Migration`, `InvalidUrl`
/// and `Corrupt` are faults of the database or its configuration and should fail closed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No row with that key.
    #[error("{what} not found: {key}")]
    NotFound {
        /// The kind of record (`"agent"`, `"refresh token"`, …).
        what: &'static str,
        /// The key that was looked up (never a secret: tokens are named by their hash).
        key: String,
    },
    /// A row with that key exists already, or the change contradicts the record's state.
    #[error("{what} already exists: {key}")]
    Conflict {
        /// The kind of record.
        what: &'static str,
        /// The key that clashed.
        key: String,
    },
    /// A refresh token was presented a second time. Its whole family has been revoked.
    #[error("refresh token reused: family {family} revoked")]
    Reused {
        /// The family that was revoked because of the reuse.
        family: FamilyId,
    },
    /// The refresh token, or its family, was revoked.
    #[error("refresh token revoked")]
    Revoked,
    /// The refresh token expired.
    #[error("refresh token expired")]
    Expired,
    /// A value handed to the store is malformed (a scope token, a PHC string, a JWK).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// `Store::open` was given a URL it does not understand.
    #[error(
        "store URL not understood: {0} (expected sqlite://PATH, sqlite::memory: or postgres://…)"
    )]
    InvalidUrl(String),
    /// The database could not be reached or opened (server down, file not creatable).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A migration failed or the database has migrations this build does not know.
    #[error("store migration failed: {0}")]
    Migration(String),
    /// A row holds a value this build cannot read (an unknown status, a malformed list).
    #[error("store row is corrupt: {0}")]
    Corrupt(String),
    /// The database failed: unreachable, timed out, or refused the statement.
    #[error("store backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            key: key.into(),
        }
    }

    /// `Ok` when a statement aimed at one row changed it, `NotFound` when nothing matched.
    pub(crate) fn found(rows: u64, what: &'static str, key: &str) -> Result<(), Self> {
        match rows {
            0 => Err(Self::not_found(what, key)),
            _ => Ok(()),
        }
    }

    pub(crate) fn conflict(what: &'static str, key: impl Into<String>) -> Self {
        Self::Conflict {
            what,
            key: key.into(),
        }
    }

    /// Turns a unique-key violation into `Conflict`, anything else into `Backend`.
    pub(crate) fn on_insert(what: &'static str, key: &str) -> impl FnOnce(sqlx::Error) -> Self {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::conflict(what, key),
            _ => Self::from(error),
        }
    }

    /// Turns a foreign-key violation on a row that names an agent into `NotFound` for that agent.
    pub(crate) fn on_agent_ref(client_id: &str) -> impl FnOnce(sqlx::Error) -> Self {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Self::not_found("agent", client_id)
            }
            _ => Self::from(error),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Backend(error.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(error.to_string())
    }
}
