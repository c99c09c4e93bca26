//! [`Store`]: open a database, migrate it, and hand out one handle per concern.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection};

use crate::agents::Agents;
use crate::approvals::Approvals;
use crate::backend::{Backend, on_backend};
use crate::clients::Clients;
use crate::consents::Consents;
use crate::error::StoreError;
use crate::keys::SigningKeys;
use crate::refresh::RefreshTokens;
use crate::revocations::Revocations;
use crate::tool_consents::ToolConsents;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite serialises writers anyway; a few connections let readers run beside a writer.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How long `open` and each query wait for a connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// SQLite: a file (the default, next to the config) or memory (tests).
    Sqlite,
    /// PostgreSQL: shared by every instance of a cluster.
    Postgres,
}

/// moat's state. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    ///
    /// - `sqlite://PATH` or `sqlite:PATH`: a file, created if missing, in WAL mode with foreign
    ///   keys on and a busy timeout;
    /// - `sqlite::memory:`: a private in-memory database (one connection; for tests);
    /// - `postgres://…` or `postgresql://…`: a PostgreSQL database. A `search_path` can be set
    ///   with `?options=-c%20search_path%3Dmoat`.
    ///
    /// Pending migrations are applied before this returns; a database that already carries a
    /// migration this build does not know is refused.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|error| StoreError::InvalidUrl(error.to_string()))?;
                Self::open_sqlite_with(options, is_memory(url)).await
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|error| StoreError::InvalidUrl(error.to_string()))?;
                Self::open_postgres_with(options).await
            }
            _ => Err(StoreError::InvalidUrl(format!("unknown scheme {scheme:?}"))),
        }
    }

    /// Opens (creating if needed) and migrates the SQLite file at `path`, which need not be
    /// expressible as a URL.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::open_sqlite_with(SqliteConnectOptions::new().filename(path), false).await
    }

    async fn open_sqlite_with(
        options: SqliteConnectOptions,
        memory: bool,
    ) -> Result<Self, StoreError> {
        let options = options
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .create_if_missing(true);
        let pool = if memory {
            // Each connection to `:memory:` would be its own database: keep exactly one, for
            // the life of the pool.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(SQLITE_MAX_CONNECTIONS)
        };
        let options = if memory {
            options
        } else {
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let path = options.get_filename().display().to_string();
        let pool = pool
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Unavailable(format!("SQLite database {path}: {error}")))?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            backend: Backend::Sqlite(pool),
        })
    }

    async fn open_postgres_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        // One direct attempt first: the pool would retry until its timeout and then report
        // only that it timed out, hiding "connection refused" or "no such role".
        let unavailable = |error: sqlx::Error| {
            StoreError::Unavailable(format!(
                "PostgreSQL at {}:{}: {error}",
                options.get_host(),
                options.get_port()
            ))
        };
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(unavailable)?;
        // The probe only proved the server answers; how it closes does not matter.
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            backend: Backend::Postgres(pool),
        })
    }

    /// Which database this store runs on.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The highest migration applied to the database (for `moat check` and diagnostics).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let version: i64 =
            on_backend!(self, |pool| sqlx::query_scalar(sql).fetch_one(pool).await?);
        Ok(version)
    }

    /// The highest migration this build carries.
    pub fn latest_schema_version(&self) -> i64 {
        let migrator = match self.backend {
            Backend::Sqlite(_) => &SQLITE_MIGRATIONS,
            Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        on_backend!(self, |pool| pool.close().await);
    }

    /// Agents: every non-human identity moat knows, registered or only seen.
    pub fn agents(&self) -> Agents<'_> {
        Agents::new(self)
    }

    /// OAuth registrations of agents with the built-in authorization server.
    pub fn clients(&self) -> Clients<'_> {
        Clients::new(self)
    }

    /// Refresh tokens and their families: issue, rotate, detect reuse, revoke.
    pub fn refresh_tokens(&self) -> RefreshTokens<'_> {
        RefreshTokens::new(self)
    }

    /// Users' consents to clients, per scope set.
    pub fn consents(&self) -> Consents<'_> {
        Consents::new(self)
    }

    /// The authorization server's signing keys.
    pub fn signing_keys(&self) -> SigningKeys<'_> {
        SigningKeys::new(self)
    }

    /// Access tokens revoked before their expiry.
    pub fn revocations(&self) -> Revocations<'_> {
        Revocations::new(self)
    }

    /// Tool calls held for a human's approval, pending and decided.
    pub fn approvals(&self) -> Approvals<'_> {
        Approvals::new(self)
    }

    /// The catalog of servers and their pinned definitions.
    pub fn catalog(&self) -> crate::Catalog<'_> {
        crate::Catalog::new(self)
    }

    /// Standing consents of users to agents' use of tools.
    pub fn tool_consents(&self) -> ToolConsents<'_> {
        ToolConsents::new(self)
    }
}

/// Whether a `sqlite:` URL names an in-memory database.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The migration versions and descriptions of each backend, to check they stay in step.
#[cfg(test)]
pub(crate) fn migration_lists() -> [Vec<(i64, String)>; 2] {
    [&SQLITE_MIGRATIONS, &POSTGRES_MIGRATIONS].map(|migrator| {
        migrator
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    })
}
