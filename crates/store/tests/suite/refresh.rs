use moat_store::chrono::TimeDelta;
use moat_store::{
    ClientId, NewRefreshToken, NextRefreshToken, OpaqueToken, RefreshToken, RevokeReason, Store,
    StoreError, Subject, clock,
};

use super::{Db, active_agent, in_hours, scopes};

async fn issue(
    store: &Store,
    client: &ClientId,
    expires_in_hours: i64,
) -> (OpaqueToken, RefreshToken) {
    let token = OpaqueToken::generate();
    let issued = store
        .refresh_tokens()
        .issue(&NewRefreshToken {
            hash: token.hash(),
            client_id: client.clone(),
            subject: Subject::new("alice"),
            scopes: scopes("orders:read"),
            expires_at: in_hours(expires_in_hours),
        })
        .await
        .expect("issue");
    (token, issued)
}

fn next() -> (OpaqueToken, NextRefreshToken) {
    let token = OpaqueToken::generate();
    let next = NextRefreshToken {
        hash: token.hash(),
        expires_at: in_hours(24),
    };
    (token, next)
}

pub(crate) async fn rotation_chains_in_one_family(db: &Db) {
    let store = &db.store;
    let client = active_agent(store, "app").await;
    let (first, issued) = issue(store, &client, 24).await;
    assert!(issued.is_usable(clock::now()));
    assert_eq!(issued.subject, Subject::new("alice"));
    assert_eq!(issued.client_id, client);

    let (second, next2) = next();
    let rotated = store
        .refresh_tokens()
        .rotate(&client, &first.hash(), &next2)
        .await
        .expect("rotate");
    assert_eq!(rotated.hash, second.hash());
    assert_eq!(rotated.family_id, issued.family_id);
    assert_eq!(rotated.scopes, issued.scopes);
    assert_eq!(rotated.expires_at, clock::stored(next2.expires_at));
    let old = store
        .refresh_tokens()
        .get(&first.hash())
        .await
        .expect("old");
    assert!(old.used_at.is_some() && !old.is_usable(clock::now()));

    let (third, next3) = next();
    let rotated = store
        .refresh_tokens()
        .rotate(&client, &second.hash(), &next3)
        .await
        .expect("rotate again");
    assert_eq!(rotated.hash, third.hash());
    assert_eq!(rotated.family_id, issued.family_id);
    assert!(rotated.is_usable(clock::now()));
}

pub(crate) async fn reuse_revokes_the_family(db: &Db) {
    let store = &db.store;
    let client = active_agent(store, "app").await;
    let (first, issued) = issue(store, &client, 24).await;
    let (second, next2) = next();
    store
        .refresh_tokens()
        .rotate(&client, &first.hash(), &next2)
        .await
        .expect("rotate");

    // The first token again: someone else holds it.
    let (_, stolen_next) = next();
    let reuse = store
        .refresh_tokens()
        .rotate(&client, &first.hash(), &stolen_next)
        .await;
    match reuse {
        Err(StoreError::Reused { family }) => assert_eq!(family, issued.family_id),
        other => panic!("expected Reused, got {other:?}"),
    }
    assert_eq!(
        store
            .refresh_tokens()
            .find(&stolen_next.hash)
            .await
            .expect("find"),
        None,
        "no successor for a reused token"
    );

    // The legitimate holder's current token died with the family.
    let (_, next3) = next();
    let current = store
        .refresh_tokens()
        .rotate(&client, &second.hash(), &next3)
        .await;
    assert!(matches!(current, Err(StoreError::Revoked)), "{current:?}");
    let family = store
        .refresh_tokens()
        .family(&issued.family_id)
        .await
        .expect("family")
        .expect("exists");
    assert_eq!(family.revoke_reason, Some(RevokeReason::Reuse));
    assert!(family.revoked_at.is_some());
}

pub(crate) async fn refusals_change_nothing(db: &Db) {
    let store = &db.store;
    let tokens = store.refresh_tokens();
    let client = active_agent(store, "app").await;
    let other = active_agent(store, "other").await;
    let (token, _) = issue(store, &client, 24).await;

    let (_, n) = next();
    let unknown = tokens
        .rotate(&client, &OpaqueToken::generate().hash(), &n)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );

    let wrong_client = tokens.rotate(&other, &token.hash(), &n).await;
    assert!(
        matches!(wrong_client, Err(StoreError::NotFound { .. })),
        "{wrong_client:?}"
    );
    let untouched = tokens.get(&token.hash()).await.expect("get");
    assert!(
        untouched.is_usable(clock::now()),
        "another client's attempt does not spend it"
    );

    let (expired, _) = issue(store, &client, -1).await;
    let late = tokens.rotate(&client, &expired.hash(), &n).await;
    assert!(matches!(late, Err(StoreError::Expired)), "{late:?}");

    tokens.revoke(&token.hash()).await.expect("revoke one");
    let revoked = tokens.rotate(&client, &token.hash(), &n).await;
    assert!(matches!(revoked, Err(StoreError::Revoked)), "{revoked:?}");

    let (fresh, issued) = issue(store, &client, 24).await;
    tokens
        .revoke_family(&issued.family_id)
        .await
        .expect("revoke family");
    let family_revoked = tokens.rotate(&client, &fresh.hash(), &n).await;
    assert!(
        matches!(family_revoked, Err(StoreError::Revoked)),
        "{family_revoked:?}"
    );
    let family = tokens
        .family(&issued.family_id)
        .await
        .expect("family")
        .expect("exists");
    assert_eq!(family.revoke_reason, Some(RevokeReason::Requested));

    assert_eq!(
        tokens.find(&n.hash).await.expect("find"),
        None,
        "no refusal minted a token"
    );
    assert!(matches!(
        tokens.revoke(&OpaqueToken::generate().hash()).await,
        Err(StoreError::NotFound { .. })
    ));

    let nobody = NewRefreshToken {
        hash: OpaqueToken::generate().hash(),
        client_id: ClientId::new("nobody"),
        subject: Subject::new("alice"),
        scopes: scopes("orders:read"),
        expires_at: in_hours(1),
    };
    let orphan = tokens.issue(&nobody).await;
    assert!(
        matches!(orphan, Err(StoreError::NotFound { what: "agent", .. })),
        "{orphan:?}"
    );
}

pub(crate) async fn revoke_all_for_client(db: &Db) {
    let store = &db.store;
    let tokens = store.refresh_tokens();
    let a = active_agent(store, "a").await;
    let b = active_agent(store, "b").await;
    let (a1, _) = issue(store, &a, 24).await;
    let (a2, _) = issue(store, &a, 24).await;
    let (b1, _) = issue(store, &b, 24).await;

    assert_eq!(tokens.revoke_for_client(&a).await.expect("revoke"), 2);
    assert_eq!(tokens.revoke_for_client(&a).await.expect("again"), 0);
    for token in [&a1, &a2] {
        let (_, n) = next();
        let refused = tokens.rotate(&a, &token.hash(), &n).await;
        assert!(matches!(refused, Err(StoreError::Revoked)), "{refused:?}");
    }
    let families = tokens.families_for_client(&a).await.expect("families");
    assert_eq!(families.len(), 2);
    assert!(
        families
            .iter()
            .all(|family| family.revoke_reason == Some(RevokeReason::ClientRevoked))
    );

    let (_, n) = next();
    tokens
        .rotate(&b, &b1.hash(), &n)
        .await
        .expect("b unaffected");
}

/// Two rotations of one token at once: exactly one wins, the other is reuse.
pub(crate) async fn concurrent_rotation_one_wins(db: &Db) {
    let client = active_agent(&db.store, "racer").await;
    for _ in 0..10 {
        let (token, _) = issue(&db.store, &client, 24).await;
        let (_, n1) = next();
        let (_, n2) = next();
        let (s1, s2) = (db.store.clone(), db.store.clone());
        let (c1, c2) = (client.clone(), client.clone());
        let (h1, h2) = (token.hash(), token.hash());
        let one = tokio::spawn(async move { s1.refresh_tokens().rotate(&c1, &h1, &n1).await });
        let two = tokio::spawn(async move { s2.refresh_tokens().rotate(&c2, &h2, &n2).await });
        let results = [one.await.expect("task"), two.await.expect("task")];
        let won = results.iter().filter(|result| result.is_ok()).count();
        let reused = results
            .iter()
            .filter(|result| matches!(result, Err(StoreError::Reused { .. })))
            .count();
        assert_eq!((won, reused), (1, 1), "{results:?}");
        // Reuse revoked the family, the winner's new token included.
        let winner = results
            .iter()
            .find_map(|result| result.as_ref().ok())
            .expect("winner");
        let now = db
            .store
            .refresh_tokens()
            .get(&winner.hash)
            .await
            .expect("get");
        assert!(now.revoked_at.is_some());
    }
}

pub(crate) async fn purge_expired(db: &Db) {
    let store = &db.store;
    let client = active_agent(store, "app").await;
    let (old, old_issued) = issue(store, &client, -2).await;
    let (live, _) = issue(store, &client, 2).await;
    let purged = store
        .refresh_tokens()
        .purge_expired(clock::now() - TimeDelta::hours(1))
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    let tokens = store.refresh_tokens();
    assert_eq!(tokens.find(&old.hash()).await.expect("find"), None);
    assert_eq!(
        tokens.family(&old_issued.family_id).await.expect("family"),
        None
    );
    assert!(tokens.find(&live.hash()).await.expect("find").is_some());
}
