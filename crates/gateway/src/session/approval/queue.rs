//! The approval queue: a held call waits in the store until an operator decides (from any
//! process on the same store), the timeout passes, or its client leaves.

use std::time::Duration;

use moat_config::ApprovalSettings;
use moat_store::{ApprovalChannel, ApprovalId, ApprovalStatus, Store};

use super::{Held, Outcome, Party, new_approval, refused};

/// How often a waiting call looks for its decision: a decision made anywhere on the same store
/// takes effect within this.
const POLL: Duration = Duration::from_millis(250);

/// Puts the call in the queue and waits for its outcome.
pub(super) async fn wait(
    store: &Store,
    held: &Held,
    party: &Party,
    settings: ApprovalSettings,
) -> Outcome {
    let call = new_approval(held, party, ApprovalChannel::Queue, settings);
    let approval = match store.approvals().hold(&call).await {
        Ok(a) => a,
        Err(e) => return refused(format!("the call could not be queued for approval: {e}")),
    };
    tracing::warn!(
        target: "moat::governance", event = "approval", status = "pending", approval = %approval.id,
        agent = %party.agent, server = %held.server, tool = %held.tool,
        "call held for approval: moat approvals approve {}", approval.id
    );
    let mut cancel = CancelOnDrop {
        store: store.clone(),
        approval: Some(approval.id.clone()),
    };
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let settled = loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break store
                .approvals()
                .close(&approval.id, ApprovalStatus::Expired)
                .await;
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
        match store.approvals().get(&approval.id).await {
            Ok(a) if a.status == ApprovalStatus::Pending => {}
            other => break other,
        }
    };
    cancel.approval = None;
    let a = match settled {
        Ok(a) => a,
        Err(e) => return refused(format!("the approval store failed: {e}")),
    };
    let why = match a.status {
        ApprovalStatus::Approved => {
            return Outcome::Approved {
                by: a.decided_by.clone().unwrap_or_default(),
                how: "queue",
            };
        }
        ApprovalStatus::Expired => format!("nobody approved it within {:?}", settings.timeout),
        _ => format!(
            "{} by {}{}",
            a.status.as_str(),
            a.decided_by.as_deref().unwrap_or("moat"),
            a.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
    };
    Outcome::Refused {
        why,
        approval: Some(Box::new(a)),
    }
}

/// Marks a queued call cancelled when its waiter is dropped (the client went away).
struct CancelOnDrop {
    store: Store,
    approval: Option<ApprovalId>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.approval.take() {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store
                    .approvals()
                    .close(&id, ApprovalStatus::Cancelled)
                    .await
                {
                    tracing::warn!(approval = %id, "cannot mark the approval cancelled: {e}");
                }
            });
        }
    }
}
