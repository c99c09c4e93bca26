use moat_store::chrono::TimeDelta;
use moat_store::{
    ApprovalChannel, ApprovalId, ApprovalStatus, NewApproval, NewToolConsent, StoreError, Verdict,
    clock,
};

use super::{Db, in_hours};

fn call(tool: &str, expires_in: TimeDelta) -> NewApproval {
    NewApproval {
        agent: "helpdesk".into(),
        subject: Some("alice".into()),
        server: "crm".into(),
        tool: tool.into(),
        arguments: r#"{"amount":500}"#.into(),
        arguments_sha256: "ab".repeat(32),
        rules: vec!["scopes:crm:write".into(), "approval:crm:destructive".into()],
        reason: "crm/refund is destructive".into(),
        channel: ApprovalChannel::Queue,
        expires_at: clock::now() + expires_in,
    }
}

fn verdict(approve: bool) -> Verdict {
    Verdict {
        approve,
        by: "cli:ops".into(),
        note: Some("checked the order".into()),
    }
}

pub(crate) async fn hold_decide_once(db: &Db) {
    let approvals = db.store.approvals();
    let held = approvals
        .hold(&call("refund", TimeDelta::minutes(5)))
        .await
        .expect("hold");
    assert_eq!(held.status, ApprovalStatus::Pending);
    assert_eq!(held.subject.as_deref(), Some("alice"));
    assert_eq!(held.rules.len(), 2);
    assert_eq!(approvals.get(&held.id).await.expect("get"), held);

    let other = approvals
        .hold(&call("delete", TimeDelta::minutes(5)))
        .await
        .expect("hold");
    let pending = approvals
        .list(Some(ApprovalStatus::Pending), 10)
        .await
        .expect("list");
    assert_eq!(pending.len(), 2);

    let approved = approvals
        .decide(&held.id, &verdict(true))
        .await
        .expect("decide");
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("cli:ops"));
    assert!(approved.decided_at.is_some());
    // The first decision stands.
    let again = approvals.decide(&held.id, &verdict(false)).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    // Closing a decided call leaves the decision.
    let closed = approvals
        .close(&held.id, ApprovalStatus::Expired)
        .await
        .expect("close");
    assert_eq!(closed.status, ApprovalStatus::Approved);

    let cancelled = approvals
        .close(&other.id, ApprovalStatus::Cancelled)
        .await
        .expect("close");
    assert_eq!(cancelled.status, ApprovalStatus::Cancelled);
    let late = approvals.decide(&other.id, &verdict(true)).await;
    assert!(matches!(late, Err(StoreError::Conflict { .. })), "{late:?}");

    let unknown = approvals
        .decide(&ApprovalId::new("nope"), &verdict(true))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
    assert!(
        approvals
            .list(Some(ApprovalStatus::Pending), 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(approvals.list(None, 10).await.expect("list").len(), 2);
}

pub(crate) async fn past_deadline_cannot_be_approved(db: &Db) {
    let approvals = db.store.approvals();
    let held = approvals
        .hold(&call("refund", TimeDelta::seconds(-1)))
        .await
        .expect("hold");
    let late = approvals.decide(&held.id, &verdict(true)).await;
    assert!(
        matches!(&late, Err(StoreError::Conflict { key, .. }) if key.contains("deadline")),
        "{late:?}"
    );
    // Elicited decisions are recorded already made.
    let mut asked = call("refund", TimeDelta::minutes(1));
    asked.channel = ApprovalChannel::Elicitation;
    let recorded = approvals
        .record(&asked, &verdict(false))
        .await
        .expect("record");
    assert_eq!(recorded.status, ApprovalStatus::Denied);
    assert_eq!(recorded.channel, ApprovalChannel::Elicitation);
}

pub(crate) async fn standing_consents_cover_and_lapse(db: &Db) {
    let consents = db.store.tool_consents();
    let grant = |subject: Option<&str>, tool: &str, hours| NewToolConsent {
        agent: "helpdesk".into(),
        subject: subject.map(str::to_owned),
        server: "crm".into(),
        tool: tool.into(),
        granted_by: "alice".into(),
        expires_at: in_hours(hours),
    };
    let now = clock::now();
    let mine = consents
        .grant(&grant(Some("alice"), "refund", 2))
        .await
        .expect("grant");
    consents
        .grant(&grant(None, "refund", -1))
        .await
        .expect("grant lapsed");
    let found = consents
        .covering("helpdesk", Some("alice"), "crm", "refund", now)
        .await
        .expect("covering");
    assert_eq!(found.as_ref().map(|c| &c.id), Some(&mine.id));
    for (subject, tool) in [
        (Some("bob"), "refund"),
        (None, "refund"),
        (Some("alice"), "delete"),
    ] {
        let none = consents
            .covering("helpdesk", subject, "crm", tool, now)
            .await
            .expect("covering");
        assert_eq!(none, None, "{subject:?} {tool}");
    }
    assert_eq!(
        consents.active(now).await.expect("active"),
        std::slice::from_ref(&mine)
    );
    consents.revoke(&mine.id).await.expect("revoke");
    let gone = consents
        .covering("helpdesk", Some("alice"), "crm", "refund", now)
        .await
        .expect("covering");
    assert_eq!(gone, None);
}
