//! The catalog stage: a call to a tool or a prompt goes ahead only if moat's catalog approved
//! its definition as the server now shows it. A server's `list_changed` marks the session's
//! view of it stale, and the next call waits for a fresh listing (compared with the pins)
//! before it is judged, so a rug pull cannot slip a call through between the change and the
//! comparison.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use moat_catalog::Kind;
use moat_proto::{ErrorObject, Id, Request, Response, codes};
use serde_json::json;

use super::authorize::Operation;
use super::dispatch::catalog_kind;
use super::{Refused, Session};
use crate::catalog::Standing;
use crate::federation::lists::ListKind;

impl Session {
    /// Refuses an operation on a tool or prompt the catalog has not approved.
    pub(super) async fn check_catalog(
        self: &Arc<Self>,
        req: &Request,
        op: Option<&Operation>,
    ) -> Result<(), Refused> {
        let Some(catalog) = self.gateway.catalog.clone() else {
            return Ok(());
        };
        let Some(op) = op else {
            return Ok(());
        };
        let Some((idx, original)) = &op.target else {
            return Ok(());
        };
        let Some(kind) = catalog_kind(op.kind).filter(|k| *k != Kind::ResourceTemplate) else {
            return Ok(());
        };
        let bit = stale_bit(kind);
        if self
            .stale
            .get(*idx)
            .is_some_and(|s| s.load(Ordering::Acquire) & bit != 0)
        {
            self.relist_stale(*idx, op.kind, bit).await;
        }
        let mut standing = catalog.standing(*idx, kind, original);
        if standing == Standing::Unknown {
            // Never listed yet: list now, so it is pinned (and vetted) before it is used.
            let _ = self
                .list(op.kind, self.internal_params(), Id::Num(0), None)
                .await;
            standing = catalog.standing(*idx, kind, original);
            // A server that cannot be reached cannot be checked: its own error says why.
            if standing == Standing::Unknown
                && let Err(e) = self.slots[*idx].live(self).await
            {
                return Err(Refused::answer(Response::error(
                    Some(req.id.clone()),
                    &e.to_error_object(),
                )));
            }
        }
        let why = match standing {
            Standing::Approved => return Ok(()),
            Standing::Suspended => "its server is suspended in moat's catalog".to_owned(),
            Standing::Unknown => "its server does not list it, so moat cannot check its definition".to_owned(),
            Standing::Held(status) => match status {
                moat_catalog::EntryStatus::Quarantined => "its definition changed since it was approved; it is quarantined until an operator approves it again".to_owned(),
                moat_catalog::EntryStatus::Rejected => "an operator rejected it".to_owned(),
                _ => "it is waiting for an operator's approval".to_owned(),
            },
        };
        let server = self.names.server(*idx);
        let status = match standing {
            Standing::Held(s) => s.as_str(),
            Standing::Suspended => "suspended",
            _ => "unknown",
        };
        tracing::warn!(
            target: "moat::governance", event = "catalog_refusal", session = %self.id, server,
            kind = kind.as_str(), name = %original, status, "refused: not approved in the catalog"
        );
        let error = ErrorObject::new(
            codes::NOT_APPROVED,
            format!("{} {:?} is not approved: {why}", kind.as_str(), op.name),
        )
        .with_data(json!({"catalog": {
            "server": server, "kind": kind.as_str(), "name": original, "status": status,
        }}));
        Err(Refused::answer(Response::error(
            Some(req.id.clone()),
            &error,
        )))
    }

    /// Lists `kind` again after a server said its list changed; concurrent callers wait for
    /// one listing.
    async fn relist_stale(self: &Arc<Self>, idx: usize, kind: ListKind, bit: u8) {
        let _one = self.relisting.lock().await;
        let was = self
            .stale
            .get(idx)
            .map_or(0, |s| s.fetch_and(!bit, Ordering::AcqRel));
        if was & bit != 0 {
            let _ = self
                .list(kind, self.internal_params(), Id::Num(0), None)
                .await;
        }
    }

    /// Marks server `idx`'s definitions stale when it says a list changed.
    pub(super) fn note_list_changed(&self, idx: usize, method: &str) {
        let bit = match method {
            "notifications/tools/list_changed" => stale_bit(Kind::Tool),
            "notifications/prompts/list_changed" => stale_bit(Kind::Prompt),
            _ => return,
        };
        if let Some(flags) = self.stale.get(idx) {
            flags.fetch_or(bit, Ordering::AcqRel);
        }
    }
}

/// A kind's bit in a server's stale flags.
fn stale_bit(kind: Kind) -> u8 {
    match kind {
        Kind::Tool => 1,
        Kind::Prompt => 2,
        Kind::ResourceTemplate => 4,
    }
}
