use moat_store::{Admission, Store};

use super::{Db, new_agent};

/// Opening an up-to-date database again applies nothing and keeps the data.
pub(crate) async fn reopen_is_idempotent(db: &Db) {
    let version = db.store.schema_version().await.expect("version");
    assert_eq!(version, db.store.latest_schema_version());
    assert!(version >= 1);
    db.store
        .agents()
        .register(&new_agent("kept", Admission::Activate))
        .await
        .expect("register");

    if db.url.contains(":memory:") {
        // A second open of `sqlite::memory:` is another database; reopening means nothing.
        return;
    }
    let again = Store::open(&db.url).await.expect("second open");
    assert_eq!(again.schema_version().await.expect("version"), version);
    let agents = again.agents().list(None).await.expect("list");
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].id.as_str(), "kept");
    again.close().await;
}
