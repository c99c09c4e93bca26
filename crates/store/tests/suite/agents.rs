use moat_store::{
    Admission, AgentStatus, ClientId, NewRefreshToken, OpaqueToken, StoreError, Subject,
};

use super::{Db, active_agent, in_hours, new_agent, scopes};

pub(crate) async fn register_get_list(db: &Db) {
    let agents = db.store.agents();
    let billing = agents
        .register(&new_agent("billing-bot", Admission::Activate))
        .await
        .expect("register");
    assert_eq!(billing.status, AgentStatus::Active);
    assert_eq!(billing.owner.as_deref(), Some("platform-team"));
    assert_eq!(billing.allowed_scopes, scopes("orders:write orders:read"));
    assert_eq!(billing.last_seen_at, None);
    assert_eq!(billing.tokens_issued, 0);

    let pending = agents
        .register(&new_agent("new-bot", Admission::HoldPending))
        .await
        .expect("register pending");
    assert_eq!(pending.status, AgentStatus::Pending);

    let fetched = agents.get(&billing.id).await.expect("get");
    assert_eq!(fetched, billing, "what was stored reads back equal");

    let all = agents.list(None).await.expect("list");
    let ids: Vec<&str> = all.iter().map(|agent| agent.id.as_str()).collect();
    assert_eq!(ids, ["billing-bot", "new-bot"]);
    let only_pending = agents.list(Some(AgentStatus::Pending)).await.expect("list");
    assert_eq!(only_pending, [pending]);

    let again = agents
        .register(&new_agent("billing-bot", Admission::Activate))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );

    let unknown = ClientId::new("nobody");
    assert_eq!(agents.find(&unknown).await.expect("find"), None);
    let missing = agents.get(&unknown).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { what: "agent", .. })),
        "{missing:?}"
    );
}

pub(crate) async fn suspend_revokes_and_resume(db: &Db) {
    let store = &db.store;
    let id = active_agent(store, "orders-bot").await;
    let token = OpaqueToken::generate();
    store
        .refresh_tokens()
        .issue(&NewRefreshToken {
            hash: token.hash(),
            client_id: id.clone(),
            subject: Subject::new("alice"),
            scopes: scopes("orders:read"),
            expires_at: in_hours(24),
        })
        .await
        .expect("issue");

    let suspended = store.agents().suspend(&id).await.expect("suspend");
    assert_eq!(suspended.status, AgentStatus::Suspended);
    let held = store
        .refresh_tokens()
        .get(&token.hash())
        .await
        .expect("token");
    assert!(
        held.revoked_at.is_some(),
        "suspension revokes refresh tokens at once"
    );

    let resumed = store.agents().resume(&id).await.expect("resume");
    assert_eq!(resumed.status, AgentStatus::Active);
    let still = store
        .refresh_tokens()
        .get(&token.hash())
        .await
        .expect("token");
    assert!(
        still.revoked_at.is_some(),
        "resuming does not bring tokens back"
    );

    let pending = store
        .agents()
        .register(&new_agent("waiting", Admission::HoldPending))
        .await
        .expect("register");
    let approved = store.agents().resume(&pending.id).await.expect("approve");
    assert_eq!(approved.status, AgentStatus::Active);

    let unknown = store.agents().suspend(&ClientId::new("ghost")).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
}

pub(crate) async fn touch_and_count_tokens(db: &Db) {
    let agents = db.store.agents();
    let id = active_agent(&db.store, "counter").await;
    agents.touch(&id).await.expect("touch");
    let seen = agents.get(&id).await.expect("get");
    assert!(seen.last_seen_at.is_some());
    assert!(seen.last_seen_at >= Some(seen.created_at));

    agents.record_token_issued(&id).await.expect("count");
    agents.record_token_issued(&id).await.expect("count");
    assert_eq!(agents.get(&id).await.expect("get").tokens_issued, 2);

    let ghost = ClientId::new("ghost");
    assert!(matches!(
        agents.touch(&ghost).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        agents.record_token_issued(&ghost).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn unregistered_recorded_then_promoted(db: &Db) {
    let agents = db.store.agents();
    let id = ClientId::new("https://idp.example/clients/shadow");
    let first = agents.record_seen(&id).await.expect("record");
    assert_eq!(first.status, AgentStatus::Unregistered);
    assert_eq!(first.name, id.as_str());
    assert_eq!(first.owner, None);
    assert!(first.allowed_scopes.is_empty());
    assert_eq!(first.last_seen_at, Some(first.created_at));

    let second = agents.record_seen(&id).await.expect("record again");
    assert_eq!(second.created_at, first.created_at);
    assert!(second.last_seen_at >= first.last_seen_at);
    let flagged = agents
        .list(Some(AgentStatus::Unregistered))
        .await
        .expect("list");
    assert_eq!(flagged.len(), 1);

    let resume = agents.resume(&id).await;
    assert!(
        matches!(resume, Err(StoreError::Conflict { .. })),
        "{resume:?}"
    );

    // Registering it promotes the record and keeps its history.
    let registered = agents
        .register(&new_agent(id.as_str(), Admission::Activate))
        .await
        .expect("register");
    assert_eq!(registered.status, AgentStatus::Active);
    assert_eq!(registered.created_at, first.created_at);
    assert_eq!(registered.last_seen_at, second.last_seen_at);
    assert_eq!(registered.owner.as_deref(), Some("platform-team"));

    // Seeing a registered agent only touches it.
    let seen = agents.record_seen(&id).await.expect("seen");
    assert_eq!(seen.status, AgentStatus::Active);

    agents.delete(&id).await.expect("delete");
    assert_eq!(agents.find(&id).await.expect("find"), None);
}
