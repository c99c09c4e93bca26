use moat_store::{Admission, AgentStatus, GrantType, NewOAuthClient, SecretHash, StoreError};

use super::{Db, new_agent};

pub(crate) async fn register_verify_and_delete(db: &Db) {
    let clients = db.store.clients();
    let secret = "a client secret";
    let registration = NewOAuthClient {
        agent: new_agent("web-app", Admission::HoldPending),
        redirect_uris: vec!["https://app.example/callback".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        secret_hash: Some(SecretHash::hash(secret).expect("hash")),
    };
    let (agent, client) = clients.register(&registration).await.expect("register");
    assert_eq!(agent.status, AgentStatus::Pending);
    assert_eq!(client.client_id, agent.id);

    let stored = clients.get(&agent.id).await.expect("get");
    assert_eq!(stored, client);
    assert!(stored.is_confidential());
    assert!(stored.verify_secret(secret));
    assert!(!stored.verify_secret("a client secreT"));
    assert!(stored.has_redirect_uri("https://app.example/callback"));
    assert!(!stored.has_redirect_uri("https://app.example/callback/"));
    assert!(stored.allows(GrantType::RefreshToken));
    assert!(!stored.allows(GrantType::ClientCredentials));
    let raw = stored.secret_hash.as_ref().expect("hash").as_str();
    assert!(raw.starts_with("$argon2id$") && !raw.contains(secret));

    let again = clients.register(&registration).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );

    clients
        .set_secret(&agent.id, None)
        .await
        .expect("make public");
    let public = clients.get(&agent.id).await.expect("get");
    assert!(!public.is_confidential());
    assert!(!public.verify_secret(secret));

    let headless = NewOAuthClient {
        agent: new_agent("batch-job", Admission::Activate),
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        secret_hash: None,
    };
    clients
        .register(&headless)
        .await
        .expect("register headless");
    let listed: Vec<String> = clients
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|client| client.client_id.to_string())
        .collect();
    assert_eq!(listed, ["batch-job", "web-app"]);

    // Dropping the registration keeps the agent; dropping the agent drops everything.
    clients
        .delete(&agent.id)
        .await
        .expect("delete registration");
    assert_eq!(clients.find(&agent.id).await.expect("find"), None);
    assert!(
        db.store
            .agents()
            .find(&agent.id)
            .await
            .expect("find")
            .is_some()
    );
    let batch = headless.agent.id;
    db.store
        .agents()
        .delete(&batch)
        .await
        .expect("delete agent");
    assert_eq!(clients.find(&batch).await.expect("find"), None);
}
