//! The store's test suite, written once against [`Db`] and run by `sqlite.rs` (in memory and in
//! a temporary file) and `postgres.rs` (one schema per test).

pub(crate) mod agents;
pub(crate) mod approvals;
pub(crate) mod catalog;
pub(crate) mod clients;
pub(crate) mod consents;
pub(crate) mod keys;
pub(crate) mod migrations;
pub(crate) mod refresh;
pub(crate) mod revocations;

use moat_store::chrono::{DateTime, TimeDelta, Utc};
use moat_store::{Admission, ClientId, NewAgent, Scopes, Store, clock};

/// An open store and the URL it was opened with (to open it again).
pub(crate) struct Db {
    pub(crate) store: Store,
    pub(crate) url: String,
}

/// Every case of the suite, as `$case!(test_name, path::to::case)`.
macro_rules! for_each_case {
    ($case:ident) => {
        $case!(
            migrations_reopen_is_idempotent,
            migrations::reopen_is_idempotent
        );
        $case!(agents_register_get_list, agents::register_get_list);
        $case!(
            agents_suspend_revokes_and_resume,
            agents::suspend_revokes_and_resume
        );
        $case!(
            agents_touch_and_count_tokens,
            agents::touch_and_count_tokens
        );
        $case!(
            agents_unregistered_recorded_then_promoted,
            agents::unregistered_recorded_then_promoted
        );
        $case!(
            clients_register_verify_and_delete,
            clients::register_verify_and_delete
        );
        $case!(
            refresh_rotation_chains_in_one_family,
            refresh::rotation_chains_in_one_family
        );
        $case!(
            refresh_reuse_revokes_the_family,
            refresh::reuse_revokes_the_family
        );
        $case!(
            refresh_refusals_change_nothing,
            refresh::refusals_change_nothing
        );
        $case!(
            refresh_revoke_all_for_client,
            refresh::revoke_all_for_client
        );
        $case!(
            refresh_concurrent_rotation_one_wins,
            refresh::concurrent_rotation_one_wins
        );
        $case!(refresh_purge_expired, refresh::purge_expired);
        $case!(consents_grant_list_revoke, consents::grant_list_revoke);
        $case!(consents_expiry_filter, consents::expiry_filter);
        $case!(
            keys_rotate_keeps_old_key_published,
            keys::rotate_keeps_old_key_published
        );
        $case!(
            keys_refuse_duplicates_and_bad_jwk,
            keys::refuse_duplicates_and_bad_jwk
        );
        $case!(approvals_hold_decide_once, approvals::hold_decide_once);
        $case!(
            approvals_past_deadline_cannot_be_approved,
            approvals::past_deadline_cannot_be_approved
        );
        $case!(
            tool_consents_cover_and_lapse,
            approvals::standing_consents_cover_and_lapse
        );
        $case!(
            catalog_pin_quarantine_and_reapprove,
            catalog::pin_quarantine_and_reapprove
        );
        $case!(
            catalog_auto_approval_suspension_and_unknowns,
            catalog::auto_approval_suspension_and_unknowns
        );
        $case!(
            revocations_revoke_follow_and_purge,
            revocations::revoke_follow_and_purge
        );
    };
}
pub(crate) use for_each_case;

pub(crate) fn scopes(text: &str) -> Scopes {
    Scopes::parse(text).expect("valid scopes")
}

pub(crate) fn new_agent(id: &str, admission: Admission) -> NewAgent {
    NewAgent {
        id: ClientId::new(id),
        name: format!("{id} agent"),
        owner: Some("platform-team".into()),
        allowed_scopes: scopes("orders:read orders:write"),
        admission,
    }
}

/// Registers an active agent.
pub(crate) async fn active_agent(store: &Store, id: &str) -> ClientId {
    store
        .agents()
        .register(&new_agent(id, Admission::Activate))
        .await
        .expect("register agent")
        .id
}

pub(crate) fn in_hours(hours: i64) -> DateTime<Utc> {
    clock::now() + TimeDelta::hours(hours)
}
