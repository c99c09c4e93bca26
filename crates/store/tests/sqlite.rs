//! The store's suite on SQLite: each case in memory and in a fresh temporary file.

mod suite;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use moat_store::Store;
use suite::*;

async fn in_memory() -> Db {
    let url = "sqlite::memory:".to_owned();
    let store = Store::open(&url).await.expect("open sqlite in memory");
    Db { store, url }
}

/// A database file in a directory of its own, removed when dropped.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "moat-store-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self { dir }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn in_file(temp: &TempDb) -> Db {
    let url = format!("sqlite://{}", temp.dir.join("moat.db").display());
    let store = Store::open(&url).await.expect("open sqlite file");
    Db { store, url }
}

macro_rules! sqlite_case {
    ($name:ident, $case:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                let db = in_memory().await;
                $case(&db).await;
                db.store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn file() {
                let temp = TempDb::new();
                let db = in_file(&temp).await;
                $case(&db).await;
                db.store.close().await;
            }
        }
    };
}

for_each_case!(sqlite_case);

/// The file is created with its directory's permissions and in WAL mode.
#[tokio::test]
async fn file_is_created_in_wal_mode() {
    let temp = TempDb::new();
    let path = temp.dir.join("fresh.db");
    let store = Store::open_sqlite(&path).await.expect("open by path");
    assert!(path.exists());
    store.agents().list(None).await.expect("query");
    store.close().await;
    // WAL mode leaves its mark in the file header (bytes 18 and 19 are 2 for WAL).
    let header = std::fs::read(&path).expect("read db");
    assert_eq!(&header[18..20], &[2, 2], "journal mode is WAL");
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let refused = Store::open("mysql://localhost/moat").await;
    assert!(
        matches!(refused, Err(moat_store::StoreError::InvalidUrl(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn uncreatable_file_is_unavailable() {
    let temp = TempDb::new();
    let path = temp.dir.join("no-such-dir").join("moat.db");
    let refused = Store::open_sqlite(&path).await;
    assert!(
        matches!(refused, Err(moat_store::StoreError::Unavailable(_))),
        "{refused:?}"
    );
}
