//! The two backends behind the [`Store`](crate::Store) facade, and the one macro that runs the
//! same query text against whichever is open.
//!
//! Both migrations create the same tables with the same column names, and every query is
//! written once with `$1`-style placeholders, which both SQLite and PostgreSQL accept. The
//! `on_backend!` macro expands a body once per backend, so each expansion is type-checked
//! against its own driver while the SQL stays in one place.

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// A connection pool of either backend.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the open backend's pool: `on_backend!(store, |pool| …)`.
/// (Closure-like syntax so that rustfmt formats the body.)
macro_rules! on_backend {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Sqlite($pool) => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Begins a transaction that will write.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front (waiting out the busy
/// timeout), so a transaction never reads a snapshot it then cannot upgrade. PostgreSQL's
/// row locks already give that.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;

    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}
