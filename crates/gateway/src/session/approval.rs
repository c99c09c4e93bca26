//! Human approval of calls the policy held. A held call goes ahead only when a standing consent
//! covers it, the user accepts an `elicitation/create` for this exact call (when the client can
//! be asked), or an operator approves it in the queue (`moat approvals`) before the timeout.
//! Anything else — denial, no answer in time, a store that cannot record the decision — refuses.

use std::sync::Arc;
use std::time::Duration;

use moat_config::ApprovalSettings;
use moat_proto::{ErrorObject, Id, Message, Request, Response, codes};
use moat_store::chrono::{TimeDelta, Utc};
use moat_store::{
    Approval, ApprovalChannel, ApprovalStatus, NewApproval, NewToolConsent, Store, Verdict,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::authorize::{Authorized, Cleared};
use super::{Outbox, Session};
use crate::events;

/// How often a call waiting in the queue looks for its decision: an approval made anywhere on
/// the same store (another process, another instance) takes effect within this.
const QUEUE_POLL: Duration = Duration::from_millis(250);
/// How much of the arguments the elicitation message shows.
const SHOWN_ARGUMENTS: usize = 2_000;

/// A call the policy held: what the human is asked about.
pub(crate) struct Held {
    pub(super) server: String,
    pub(super) tool: String,
    pub(super) arguments: Value,
    pub(super) rules: Vec<String>,
    pub(super) reason: String,
}

/// Who makes the call, as approvals record it.
struct Party {
    agent: String,
    user: Option<String>,
}

/// How a held call ended.
enum Outcome {
    Approved {
        by: String,
        how: &'static str,
    },
    Refused {
        why: String,
        approval: Option<Box<Approval>>,
    },
    /// Nobody can be asked (no store for a queue, the client cannot be asked).
    Unaskable,
}

impl Session {
    /// Lets `authorized` through, after a human's approval when the policy held it; otherwise
    /// the JSON-RPC error that refuses it.
    pub(crate) async fn clear(
        self: &Arc<Self>,
        mut authorized: Authorized,
        outbox: &Outbox,
    ) -> Result<Cleared, Response> {
        let Some(held) = authorized.held.take() else {
            return Ok(Cleared(authorized));
        };
        let principal = authorized.caller.principal.as_deref();
        let party = Party {
            agent: principal.map_or("anonymous", |p| p.agent()).to_owned(),
            user: principal.and_then(|p| p.user()).map(str::to_owned),
        };
        let settings = self
            .gateway
            .config
            .load()
            .policy
            .as_ref()
            .map(|p| p.approval);
        let Some(settings) = settings else {
            // A held call needs a policy; a reload that removed it leaves nothing to ask.
            return Ok(Cleared(authorized));
        };
        let outcome = self.obtain(&held, &party, settings, outbox).await;
        let id = authorized.req.id.clone();
        let hash = arguments_sha256(&held.arguments);
        match outcome {
            Outcome::Approved { by, how } => {
                events::approval(
                    &self.id,
                    &party.agent,
                    &held.server,
                    &held.tool,
                    &hash,
                    how,
                    &by,
                );
                Ok(Cleared(authorized))
            }
            Outcome::Refused { why, approval } => {
                let status = approval.as_ref().map_or("refused", |a| a.status.as_str());
                events::approval(
                    &self.id,
                    &party.agent,
                    &held.server,
                    &held.tool,
                    &hash,
                    status,
                    &why,
                );
                let message = format!("not approved: {why}");
                Err(refusal(
                    id,
                    &held,
                    codes::APPROVAL_REFUSED,
                    message,
                    approval.as_deref(),
                ))
            }
            Outcome::Unaskable => {
                let why = "nobody can be asked: no approval queue (store) and no elicitation";
                events::approval(
                    &self.id,
                    &party.agent,
                    &held.server,
                    &held.tool,
                    &hash,
                    "unaskable",
                    why,
                );
                let message = format!("approval required: {}; {why}", held.reason);
                Err(refusal(id, &held, codes::APPROVAL_REQUIRED, message, None))
            }
        }
    }

    async fn obtain(
        self: &Arc<Self>,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
        outbox: &Outbox,
    ) -> Outcome {
        let store = self.gateway.approval_store.as_ref();
        if let Some(store) = store {
            let covering = store
                .tool_consents()
                .covering(
                    &party.agent,
                    party.user.as_deref(),
                    &held.server,
                    &held.tool,
                    Utc::now(),
                )
                .await;
            match covering {
                Ok(Some(consent)) => {
                    return Outcome::Approved {
                        by: format!("standing consent {} of {}", consent.id, consent.granted_by),
                        how: "consent",
                    };
                }
                Ok(None) => {}
                Err(e) => return refused(format!("the approval store failed: {e}")),
            }
        }
        if self.client_elicits() {
            return self.elicit(held, party, settings, outbox, store).await;
        }
        match store {
            Some(store) => queue(store, held, party, settings).await,
            None => Outcome::Unaskable,
        }
    }

    /// Whether the client declared form elicitation when it initialized.
    fn client_elicits(&self) -> bool {
        let elicitation = &self.init_params["capabilities"]["elicitation"];
        elicitation.is_object()
            && (elicitation.get("form").is_some() || elicitation.get("url").is_none())
    }

    /// Asks the user through the client, on the stream of the call itself.
    async fn elicit(
        self: &Arc<Self>,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
        outbox: &Outbox,
        store: Option<&Store>,
    ) -> Outcome {
        let max_hours = settings.remember_max.as_secs() / 3600;
        let params = elicitation_params(held, party, max_hours);
        let (id, answer) = self.routes.register_moat_request();
        let request = Request::new(Id::Num(id), "elicitation/create", raw(&params));
        if outbox.send(Message::from(request)).is_err() {
            self.routes.take_server_request(id);
            return refused("the client went away before it was asked".into());
        }
        let response = tokio::time::timeout(settings.timeout, answer).await;
        self.routes.take_server_request(id);
        let (approve, remember_hours, note) = match response {
            Ok(Ok(resp)) => read_elicitation(&resp, max_hours),
            Ok(Err(_)) => (
                false,
                0,
                "the session ended before the user answered".into(),
            ),
            Err(_) => (
                false,
                0,
                format!("the user did not answer within {:?}", settings.timeout),
            ),
        };
        let by = format!("user {}", party.user.as_deref().unwrap_or(&party.agent));
        let Some(store) = store else {
            return if approve {
                Outcome::Approved {
                    by,
                    how: "elicitation",
                }
            } else {
                refused(note)
            };
        };
        let verdict = Verdict {
            approve,
            by: by.clone(),
            note: Some(note.clone()),
        };
        let call = new_approval(held, party, ApprovalChannel::Elicitation, settings);
        let approval = match store.approvals().record(&call, &verdict).await {
            Ok(a) => a,
            Err(e) => return refused(format!("the decision could not be recorded: {e}")),
        };
        if !approve {
            return Outcome::Refused {
                why: note,
                approval: Some(Box::new(approval)),
            };
        }
        if remember_hours > 0 {
            let consent = NewToolConsent {
                agent: party.agent.clone(),
                subject: party.user.clone(),
                server: held.server.clone(),
                tool: held.tool.clone(),
                granted_by: by.clone(),
                expires_at: Utc::now()
                    + TimeDelta::hours(i64::try_from(remember_hours).unwrap_or(0)),
            };
            if let Err(e) = store.tool_consents().grant(&consent).await {
                tracing::warn!(session = %self.id, "standing consent not recorded: {e}");
            }
        }
        Outcome::Approved {
            by,
            how: "elicitation",
        }
    }
}

/// Puts the call in the queue and waits for an operator's decision, the timeout, or the client
/// to leave (then the row is marked cancelled).
async fn queue(store: &Store, held: &Held, party: &Party, settings: ApprovalSettings) -> Outcome {
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
        tokio::time::sleep(QUEUE_POLL.min(deadline - now)).await;
        match store.approvals().get(&approval.id).await {
            Ok(a) if a.status == ApprovalStatus::Pending => {}
            other => break other,
        }
    };
    cancel.approval = None;
    match settled {
        Ok(a) if a.status == ApprovalStatus::Approved => Outcome::Approved {
            by: a.decided_by.clone().unwrap_or_default(),
            how: "queue",
        },
        Ok(a) => {
            let why = match a.status {
                ApprovalStatus::Expired => {
                    format!("nobody approved it within {:?}", settings.timeout)
                }
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
        Err(e) => refused(format!("the approval store failed: {e}")),
    }
}

/// Marks a queued call cancelled when its waiter is dropped (the client went away).
struct CancelOnDrop {
    store: Store,
    approval: Option<moat_store::ApprovalId>,
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

fn refused(why: String) -> Outcome {
    Outcome::Refused {
        why,
        approval: None,
    }
}

fn new_approval(
    held: &Held,
    party: &Party,
    channel: ApprovalChannel,
    settings: ApprovalSettings,
) -> NewApproval {
    let timeout = TimeDelta::from_std(settings.timeout).unwrap_or(TimeDelta::minutes(5));
    NewApproval {
        agent: party.agent.clone(),
        subject: party.user.clone(),
        server: held.server.clone(),
        tool: held.tool.clone(),
        arguments: held.arguments.to_string(),
        arguments_sha256: arguments_sha256(&held.arguments),
        rules: held.rules.clone(),
        reason: held.reason.clone(),
        channel,
        expires_at: Utc::now() + timeout,
    }
}

/// The form the user is shown: the exact call, and how long to allow it without asking.
fn elicitation_params(held: &Held, party: &Party, max_hours: u64) -> Value {
    let mut shown = held.arguments.to_string();
    if shown.len() > SHOWN_ARGUMENTS {
        let cut = (0..=SHOWN_ARGUMENTS)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    let who = match &party.user {
        Some(user) => format!("Agent {:?}, acting for {user:?},", party.agent),
        None => format!("Agent {:?}", party.agent),
    };
    let message = format!(
        "{who} asks to call {}/{} with arguments {shown}.\nmoat holds this call because {}. \
         Accept to allow this exact call once.",
        held.server, held.tool, held.reason
    );
    let mut properties = json!({});
    if max_hours > 0 {
        properties["remember_hours"] = json!({
            "type": "integer",
            "title": "Also allow this tool without asking for (hours)",
            "description": format!("0 asks again next time; at most {max_hours}"),
            "minimum": 0,
            "maximum": max_hours,
            "default": 0,
        });
    }
    json!({
        "message": message,
        "requestedSchema": {"type": "object", "properties": properties},
    })
}

/// Whether the user accepted, for how many hours they allowed the tool, and a note.
fn read_elicitation(response: &Response, max_hours: u64) -> (bool, u64, String) {
    let result: Value = match response
        .result
        .as_deref()
        .map(|r| serde_json::from_str(r.get()))
    {
        Some(Ok(v)) => v,
        _ => {
            let error = response
                .error
                .as_deref()
                .and_then(|e| serde_json::from_str::<ErrorObject>(e.get()).ok());
            let why = error.map_or_else(
                || "the client's answer was not an elicitation result".to_owned(),
                |e| format!("the client could not ask the user: {}", e.message),
            );
            return (false, 0, why);
        }
    };
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => {
            let hours = result
                .pointer("/content/remember_hours")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .min(max_hours);
            (true, hours, "accepted by the user".into())
        }
        Some(action @ ("decline" | "cancel")) => (false, 0, format!("the user chose {action}")),
        _ => (false, 0, "the client's answer named no action".into()),
    }
}

/// SHA-256 (hex) of the arguments' canonical JSON (object keys sorted), so two spellings of the
/// same arguments hash alike.
pub(crate) fn arguments_sha256(arguments: &Value) -> String {
    let digest = Sha256::digest(canonical(arguments).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn raw(v: &Value) -> Option<Box<moat_proto::RawValue>> {
    serde_json::value::to_raw_value(v).ok()
}

/// The JSON-RPC error of a held call that was not approved.
fn refusal(
    id: Id,
    held: &Held,
    code: i32,
    message: String,
    approval: Option<&Approval>,
) -> Response {
    let mut data = json!({"rules": held.rules, "reason": held.reason});
    if let Some(a) = approval {
        data["approval"] = json!({"id": a.id, "status": a.status, "channel": a.channel});
    }
    Response::error(Some(id), &ErrorObject::new(code, message).with_data(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order_but_not_values() {
        let a = json!({"b": [1, {"y": 2, "x": "é"}], "a": null});
        let b = json!({"a": null, "b": [1, {"x": "é", "y": 2}]});
        assert_eq!(arguments_sha256(&a), arguments_sha256(&b));
        assert_ne!(arguments_sha256(&a), arguments_sha256(&json!({"a": null})));
        assert_eq!(arguments_sha256(&a).len(), 64);
    }

    fn answer(result: Value) -> Response {
        Response::result(
            Id::Num(1),
            serde_json::value::to_raw_value(&result).expect("raw"),
        )
    }

    #[test]
    fn only_accept_approves_and_remembering_is_capped() {
        let accept = answer(json!({"action": "accept", "content": {"remember_hours": 99}}));
        assert!(read_elicitation(&accept, 8).0);
        assert_eq!(read_elicitation(&accept, 8).1, 8);
        for refused in [
            json!({"action": "decline"}),
            json!({"action": "cancel"}),
            json!({}),
        ] {
            assert!(
                !read_elicitation(&answer(refused.clone()), 8).0,
                "{refused}"
            );
        }
        let error = Response::error(Some(Id::Num(1)), &ErrorObject::new(-1, "no UI"));
        let (approve, _, note) = read_elicitation(&error, 8);
        assert!(!approve && note.contains("no UI"), "{note}");
    }

    #[test]
    fn the_form_shows_the_call_and_offers_remembering_only_when_allowed() {
        let held = Held {
            server: "crm".into(),
            tool: "refund".into(),
            arguments: json!({"amount": 500, "note": "x".repeat(5_000)}),
            rules: vec!["approval:crm:destructive".into()],
            reason: "crm/refund is destructive".into(),
        };
        let party = Party {
            agent: "bot".into(),
            user: Some("alice".into()),
        };
        let params = elicitation_params(&held, &party, 8);
        let message = params["message"].as_str().expect("message");
        assert!(
            message.contains("crm/refund") && message.contains("\"amount\":500"),
            "{message}"
        );
        assert!(
            message.contains("alice") && message.len() < 2_500,
            "{}",
            message.len()
        );
        assert_eq!(
            params["requestedSchema"]["properties"]["remember_hours"]["maximum"],
            8
        );
        let none = elicitation_params(&held, &party, 0);
        assert_eq!(none["requestedSchema"]["properties"], json!({}));
    }
}
