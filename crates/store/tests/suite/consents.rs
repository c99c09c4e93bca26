use moat_store::chrono::TimeDelta;
use moat_store::{ClientId, ConsentId, NewConsent, StoreError, Subject, clock};

use super::{Db, active_agent, in_hours, scopes};

fn consent(subject: &str, client: &ClientId, scope: &str) -> NewConsent {
    NewConsent {
        subject: Subject::new(subject),
        client_id: client.clone(),
        scopes: scopes(scope),
        expires_at: None,
    }
}

pub(crate) async fn grant_list_revoke(db: &Db) {
    let consents = db.store.consents();
    let app = active_agent(&db.store, "app").await;
    let cli = active_agent(&db.store, "cli").await;
    let alice = Subject::new("alice");

    let to_app = consents
        .grant(&consent("alice", &app, "orders:read orders:write"))
        .await
        .expect("grant");
    assert_eq!(to_app.subject, alice);
    assert_eq!(to_app.expires_at, None);
    let to_cli = consents
        .grant(&consent("alice", &cli, "orders:read"))
        .await
        .expect("grant");
    consents
        .grant(&consent("bob", &app, "orders:read"))
        .await
        .expect("grant");

    let now = clock::now();
    let mine = consents
        .active_for_subject(&alice, now)
        .await
        .expect("list");
    assert_eq!(mine, [to_app.clone(), to_cli.clone()]);
    assert_eq!(
        consents
            .active_for_client(&app, now)
            .await
            .expect("list")
            .len(),
        2
    );

    let covering = consents
        .covering(&alice, &app, &scopes("orders:write"), now)
        .await
        .expect("covering");
    assert_eq!(covering.as_ref().map(|c| &c.id), Some(&to_app.id));
    let wider = consents
        .covering(&alice, &cli, &scopes("orders:write"), now)
        .await
        .expect("covering");
    assert_eq!(wider, None, "consent to read is not consent to write");

    consents.revoke(&to_app.id).await.expect("revoke");
    let after = consents
        .active_for_subject(&alice, clock::now())
        .await
        .expect("list");
    assert_eq!(after, [to_cli]);
    assert!(matches!(
        consents.revoke(&ConsentId::new("nope")).await,
        Err(StoreError::NotFound { .. })
    ));

    assert_eq!(
        consents
            .revoke_for(&Subject::new("bob"), &app)
            .await
            .expect("revoke"),
        1
    );
    assert!(
        consents
            .active_for_client(&app, clock::now())
            .await
            .expect("list")
            .is_empty()
    );

    let orphan = consents
        .grant(&consent("alice", &ClientId::new("ghost"), "orders:read"))
        .await;
    assert!(
        matches!(orphan, Err(StoreError::NotFound { what: "agent", .. })),
        "{orphan:?}"
    );
}

pub(crate) async fn expiry_filter(db: &Db) {
    let consents = db.store.consents();
    let app = active_agent(&db.store, "app").await;
    let alice = Subject::new("alice");

    let mut lapsed = consent("alice", &app, "orders:read");
    lapsed.expires_at = Some(clock::now() - TimeDelta::minutes(5));
    consents.grant(&lapsed).await.expect("grant");
    let expiry = in_hours(1);
    let mut hourly = consent("alice", &app, "orders:write");
    hourly.expires_at = Some(expiry);
    let hourly = consents.grant(&hourly).await.expect("grant");
    assert_eq!(hourly.expires_at, Some(clock::stored(expiry)));

    let now = clock::now();
    assert_eq!(
        consents
            .active_for_subject(&alice, now)
            .await
            .expect("list"),
        std::slice::from_ref(&hourly)
    );
    assert!(hourly.is_active(now));
    let later = in_hours(2);
    assert!(
        consents
            .active_for_subject(&alice, later)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(!hourly.is_active(later));
    assert_eq!(
        consents
            .covering(&alice, &app, &scopes("orders:read"), now)
            .await
            .expect("covering"),
        None,
        "an expired consent covers nothing"
    );
}
