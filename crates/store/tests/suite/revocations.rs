use moat_store::chrono::TimeDelta;
use moat_store::clock;

use super::Db;

pub(crate) async fn revoke_follow_and_purge(db: &Db) {
    let revocations = db.store.revocations();
    let now = clock::now();
    assert!(!revocations.is_revoked("j1").await.expect("read"));
    assert!(
        revocations
            .revoke("j1", "agent-1", now + TimeDelta::minutes(10))
            .await
            .expect("revoke")
    );
    assert!(
        !revocations
            .revoke("j1", "agent-1", now + TimeDelta::minutes(10))
            .await
            .expect("again"),
        "second revocation is a no-op"
    );
    assert!(
        revocations
            .revoke("j2", "agent-2", now + TimeDelta::minutes(5))
            .await
            .expect("revoke")
    );
    assert!(revocations.is_revoked("j1").await.expect("read"));

    let long_ago = now - TimeDelta::hours(1);
    let all = revocations.after(0, long_ago, now).await.expect("after 0");
    assert_eq!(
        all.iter().map(|r| r.jti.as_str()).collect::<Vec<_>>(),
        ["j1", "j2"]
    );
    assert!(all[0].seq < all[1].seq);
    assert_eq!(all[1].client_id, "agent-2");
    let no_window = now + TimeDelta::hours(1);
    let later = revocations
        .after(all[0].seq, no_window, now)
        .await
        .expect("after first");
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].jti, "j2");
    // A row below the cursor is still returned when it was made after `since`.
    let window = revocations
        .after(all[1].seq, now - TimeDelta::seconds(30), now)
        .await
        .expect("window");
    assert_eq!(window.len(), 2, "both were revoked within the window");
    // Expired tokens need no revocation: they are neither listed nor kept.
    let in_7_min = now + TimeDelta::minutes(7);
    assert_eq!(
        revocations
            .after(0, long_ago, in_7_min)
            .await
            .expect("after")
            .len(),
        1
    );
    assert_eq!(revocations.purge_expired(in_7_min).await.expect("purge"), 1);
    assert!(!revocations.is_revoked("j2").await.expect("read"));
    assert!(revocations.is_revoked("j1").await.expect("read"));
}
