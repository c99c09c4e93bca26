use moat_store::chrono::TimeDelta;
use moat_store::{KeyId, NewSigningKey, PrivateKeyDer, SigningAlgorithm, StoreError, clock};

use super::{Db, in_hours};

fn key(kid: &str, algorithm: SigningAlgorithm) -> NewSigningKey {
    NewSigningKey {
        kid: KeyId::new(kid),
        algorithm,
        // Not a real key: the store keeps bytes, it does not parse them.
        private_key: PrivateKeyDer::new(format!("pkcs8 of {kid}").into_bytes()),
        public_jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"AAAA"}}"#),
    }
}

pub(crate) async fn rotate_keeps_old_key_published(db: &Db) {
    let keys = db.store.signing_keys();
    assert_eq!(keys.active().await.expect("active"), None);

    let first = keys
        .rotate(&key("k1", SigningAlgorithm::EdDSA), TimeDelta::hours(1))
        .await
        .expect("first key");
    assert!(first.is_active());
    assert_eq!(first.expires_at, None);
    assert_eq!(keys.active().await.expect("active"), Some(first.clone()));

    let second = keys
        .rotate(&key("k2", SigningAlgorithm::ES256), TimeDelta::hours(1))
        .await
        .expect("rotate");
    assert_eq!(keys.active().await.expect("active"), Some(second.clone()));
    let retired = keys
        .find(&KeyId::new("k1"))
        .await
        .expect("find")
        .expect("kept");
    assert!(!retired.is_active());
    assert!(retired.expires_at > Some(clock::now()));
    assert_eq!(retired.private_key, first.private_key, "bytes round-trip");
    assert!(
        !format!("{retired:?}").contains("pkcs8 of"),
        "Debug redacts the private key"
    );

    let now = clock::now();
    let kids = |list: Vec<moat_store::SigningKey>| -> Vec<String> {
        list.into_iter().map(|key| key.kid.to_string()).collect()
    };
    assert_eq!(kids(keys.published(now).await.expect("jwks")), ["k2", "k1"]);
    assert_eq!(
        kids(keys.published(in_hours(2)).await.expect("jwks")),
        ["k2"],
        "the retired key leaves the JWKS once its tokens have expired"
    );
    assert_eq!(kids(keys.list().await.expect("list")), ["k2", "k1"]);

    assert_eq!(keys.purge_expired(in_hours(2)).await.expect("purge"), 1);
    assert_eq!(kids(keys.list().await.expect("list")), ["k2"]);
}

pub(crate) async fn refuse_duplicates_and_bad_jwk(db: &Db) {
    let keys = db.store.signing_keys();
    keys.rotate(&key("k1", SigningAlgorithm::EdDSA), TimeDelta::hours(1))
        .await
        .expect("first key");
    let again = keys
        .rotate(&key("k1", SigningAlgorithm::EdDSA), TimeDelta::hours(1))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let active = keys.active().await.expect("active").expect("one");
    assert_eq!(
        active.kid.as_str(),
        "k1",
        "a failed rotation retires nothing"
    );

    let mut bad = key("k2", SigningAlgorithm::EdDSA);
    bad.public_jwk = "not json".into();
    let refused = keys.rotate(&bad, TimeDelta::hours(1)).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
}
