//! The store's suite on PostgreSQL. Each case runs in a schema of its own (created here, set as
//! the pool's `search_path`, dropped afterwards), so cases run in parallel and leave nothing.
//!
//! The server is expected at `postgres://postgres@127.0.0.1:5432/test` (trust auth), or at
//! `$MOAT_TEST_POSTGRES_URL`. If it is unreachable these tests fail: start it with `.ci/run`.

mod suite;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::FutureExt;
use moat_store::Store;
use sqlx::{Connection, PgConnection};
use suite::*;

const DEFAULT_URLS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
];

/// Connects to the test server, trying `$MOAT_TEST_POSTGRES_URL` or the default roles in turn.
async fn admin() -> (PgConnection, String) {
    let urls: Vec<String> = match std::env::var("MOAT_TEST_POSTGRES_URL") {
        Ok(url) => vec![url],
        Err(_) => DEFAULT_URLS.iter().map(|url| url.to_string()).collect(),
    };
    let mut failures = Vec::new();
    for url in &urls {
        match PgConnection::connect(url).await {
            Ok(conn) => return (conn, url.clone()),
            Err(error) => failures.push(format!("{url}: {error}")),
        }
    }
    panic!(
        "PostgreSQL is not reachable, so the store's PostgreSQL suite cannot run.\n{}\n\
         Start it with `.ci/run` (or `pg_ctlcluster --skip-systemctl-redirect <version> main start`), \
         or point MOAT_TEST_POSTGRES_URL at a server with a `test` database and trust auth.",
        failures.join("\n")
    );
}

/// Runs `case` against a fresh schema, dropping it afterwards even if the case panics.
async fn in_schema<F, Fut>(case: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = Db>,
{
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (mut admin, base) = admin().await;
    let schema = format!(
        "moat_store_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");

    let outcome = AssertUnwindSafe(async {
        let store = Store::open(&url).await.expect("open postgres store");
        let db = case(Db {
            store,
            url: url.clone(),
        })
        .await;
        db.store.close().await;
    })
    .catch_unwind()
    .await;

    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop schema");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! postgres_case {
    ($name:ident, $case:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            in_schema(|db| async move {
                $case(&db).await;
                db
            })
            .await;
        }
    };
}

for_each_case!(postgres_case);

/// A server that is not there is reported at once as unavailable, with the cause.
#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let refused = Store::open("postgres://postgres@127.0.0.1:1/test").await;
    match refused {
        Err(moat_store::StoreError::Unavailable(message)) => {
            assert!(message.contains("127.0.0.1:1"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// The schema really is private to the store: its tables are where `search_path` put them.
#[tokio::test]
async fn tables_live_in_the_test_schema() {
    in_schema(|db| async move {
        assert_eq!(db.store.kind(), moat_store::BackendKind::Postgres);
        let schema = db.url.rsplit("%3D").next().expect("schema").to_owned();
        let (mut admin, _) = admin().await;
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
        )
        .bind(&schema)
        .fetch_one(&mut admin)
        .await
        .expect("count");
        assert_eq!(count, 13, "twelve tables and _sqlx_migrations in {schema}");
        db
    })
    .await;
}
