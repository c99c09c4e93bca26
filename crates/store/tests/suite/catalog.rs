use moat_catalog::{EntryStatus, Kind, ServerStatus};
use moat_store::{EntryDecision, ServerRecord, Sighting, StoreError};

use super::Db;

fn server(address: &str) -> ServerRecord {
    ServerRecord {
        name: "crm".into(),
        transport: "stdio".into(),
        address: address.into(),
        owner: Some("sales-eng".into()),
        description: None,
        label: Some("confidential".into()),
        status: ServerStatus::Pending,
    }
}

fn seen<'a>(sha256: &'a str, was: Option<&'a str>, status: EntryStatus) -> Sighting<'a> {
    Sighting {
        server: "crm",
        kind: Kind::Tool,
        name: "refund",
        sha256,
        definition: r#"{"name":"refund"}"#,
        was,
        status,
        reason: "test",
    }
}

/// A definition's life: new and pending, approved by an operator, changed (quarantined, the
/// approved definition kept), a stale approval refused, re-approved; each step in the history.
pub(crate) async fn pin_quarantine_and_reapprove(db: &Db) {
    let catalog = db.store.catalog();
    let registered = catalog
        .register_server(&server("crm-server --port 1"))
        .await
        .expect("store call");
    assert_eq!(registered.status, ServerStatus::Pending);
    // Registering again with the same facts writes nothing; with a new address, updates.
    let before = catalog.last_seq().await.expect("store call");
    catalog
        .register_server(&server("crm-server --port 1"))
        .await
        .expect("store call");
    assert_eq!(catalog.last_seq().await.expect("store call"), before);
    let updated = catalog
        .register_server(&server("crm-server --port 2"))
        .await
        .expect("store call");
    assert_eq!(updated.address, "crm-server --port 2");
    assert!(catalog.last_seq().await.expect("store call") > before);

    let new = catalog
        .record(&seen("h1", None, EntryStatus::Pending))
        .await
        .expect("store call");
    assert_eq!(
        (new.status, new.approved_sha256.as_deref()),
        (EntryStatus::Pending, None)
    );
    // A second writer that also saw it as new changes nothing.
    let again = catalog
        .record(&seen("h1", None, EntryStatus::Approved))
        .await
        .expect("store call");
    assert_eq!(again.status, EntryStatus::Pending);

    let approve = EntryDecision {
        approve: true,
        sha256: Some("h1"),
        by: "cli:ops",
        reason: Some("reviewed"),
    };
    let approved = catalog
        .decide("crm", Kind::Tool, "refund", &approve)
        .await
        .expect("store call");
    assert_eq!(approved.status, EntryStatus::Approved);
    assert_eq!(approved.approved_sha256.as_deref(), Some("h1"));

    let changed = catalog
        .record(&seen("h2", Some("h1"), EntryStatus::Quarantined))
        .await
        .expect("store call");
    assert_eq!(changed.status, EntryStatus::Quarantined);
    assert_eq!(
        (changed.sha256.as_str(), changed.approved_sha256.as_deref()),
        ("h2", Some("h1"))
    );
    assert_eq!(changed.decided_by.as_deref(), Some("moat"));
    // A writer that saw the old hash loses.
    let late = catalog
        .record(&seen("h3", Some("h1"), EntryStatus::Quarantined))
        .await
        .expect("store call");
    assert_eq!(late.sha256, "h2");

    // Approving what was reviewed before the change is refused.
    let stale = catalog.decide("crm", Kind::Tool, "refund", &approve).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let reapprove = EntryDecision {
        sha256: Some("h2"),
        ..approve
    };
    let released = catalog
        .decide("crm", Kind::Tool, "refund", &reapprove)
        .await
        .expect("store call");
    assert_eq!(
        (released.status, released.approved_sha256.as_deref()),
        (EntryStatus::Approved, Some("h2"))
    );

    catalog
        .mark_removed("crm", Kind::Tool, "refund")
        .await
        .expect("store call");
    catalog
        .mark_removed("crm", Kind::Tool, "refund")
        .await
        .expect("store call");
    assert!(
        catalog
            .entry("crm", Kind::Tool, "refund")
            .await
            .expect("store call")
            .removed_at
            .is_some()
    );
    catalog
        .touch("crm", Kind::Tool, &["refund"])
        .await
        .expect("store call");
    assert!(
        catalog
            .entry("crm", Kind::Tool, "refund")
            .await
            .expect("store call")
            .removed_at
            .is_none()
    );

    let events: Vec<String> = catalog
        .history("crm", Some((Kind::Tool, "refund")))
        .await
        .expect("store call")
        .into_iter()
        .map(|e| format!("{}:{}", e.event, e.status))
        .collect();
    assert_eq!(
        events,
        [
            "new:pending",
            "approved:approved",
            "changed:quarantined",
            "approved:approved",
            "removed:"
        ]
    );
    let whole = catalog.history("crm", None).await.expect("store call");
    assert_eq!(whole.first().map(|e| e.event.as_str()), Some("registered"));
    assert!(whole.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// Automatic approval records the definition as approved; suspension and unknown names.
pub(crate) async fn auto_approval_suspension_and_unknowns(db: &Db) {
    let catalog = db.store.catalog();
    catalog
        .register_server(&server("crm-server"))
        .await
        .expect("store call");
    let auto = catalog
        .record(&seen("h1", None, EntryStatus::Approved))
        .await
        .expect("store call");
    assert_eq!(
        (auto.approved_sha256.as_deref(), auto.decided_by.as_deref()),
        (Some("h1"), Some("auto"))
    );
    let reject = EntryDecision {
        approve: false,
        sha256: None,
        by: "cli:ops",
        reason: Some("not needed"),
    };
    assert_eq!(
        catalog
            .decide("crm", Kind::Tool, "refund", &reject)
            .await
            .expect("store call")
            .status,
        EntryStatus::Rejected
    );

    let suspended = catalog
        .set_server_status("crm", ServerStatus::Suspended, "cli:ops", Some("incident"))
        .await
        .expect("store call");
    assert_eq!(
        (suspended.status, suspended.reason.as_deref()),
        (ServerStatus::Suspended, Some("incident"))
    );
    catalog
        .pin_launch("crm", "ab12", "moat")
        .await
        .expect("store call");
    assert_eq!(
        catalog
            .server("crm")
            .await
            .expect("store call")
            .launch_sha256
            .as_deref(),
        Some("ab12")
    );

    assert!(matches!(
        catalog.server("nope").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        catalog
            .set_server_status("nope", ServerStatus::Approved, "x", None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        catalog.decide("crm", Kind::Prompt, "refund", &reject).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        catalog
            .entries(Some("crm"))
            .await
            .expect("store call")
            .len(),
        1
    );
    assert_eq!(
        catalog
            .entries(Some("other"))
            .await
            .expect("store call")
            .len(),
        0
    );
    assert_eq!(catalog.servers().await.expect("store call").len(), 1);
}
