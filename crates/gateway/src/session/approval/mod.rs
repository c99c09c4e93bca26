//! Human approval of calls the policy held. A held call goes ahead only when a standing consent
//! covers it, the user accepts this exact call when the client can ask them (an
//! `elicitation/create` on the call's own stream for 2025 sessions, an `InputRequiredResult`
//! for 2026-07-28 clients), or an operator approves it in the queue (`moat approvals`) before
//! the timeout. Anything else — denial, no answer in time, a store that cannot record the
//! decision — refuses.

mod form;
mod input;
mod queue;

use std::sync::Arc;

use moat_config::ApprovalSettings;
use moat_proto::{ErrorObject, Id, Message, Request, Response, codes};
use moat_store::chrono::{TimeDelta, Utc};
use moat_store::{Approval, ApprovalChannel, NewApproval, NewToolConsent, Store, Verdict};
use serde_json::{Value, json};

pub(crate) use input::{Reseal, Sealer};

use super::authorize::{Authorized, Cleared};
use super::dispatch::raw;
use super::{Mode, Outbox, Session};
use crate::events::{self, HeldCall};
use form::Answer;

/// A call the policy held: what the human is asked about.
pub(crate) struct Held {
    server: String,
    tool: String,
    arguments: Value,
    /// SHA-256 of the arguments' canonical JSON: what decisions, records and seals bind to.
    arguments_sha256: String,
    rules: Vec<String>,
    reason: String,
}

impl Held {
    pub(super) fn new(
        server: String,
        tool: String,
        arguments: Value,
        rules: Vec<String>,
        reason: String,
    ) -> Self {
        let arguments_sha256 = form::arguments_sha256(&arguments);
        Self {
            server,
            tool,
            arguments,
            arguments_sha256,
            rules,
            reason,
        }
    }
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
    /// the answer to send instead (a refusal, or a 2026-07-28 client's `InputRequiredResult`).
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
        // Settings come with the policy that held the call; one removed since cannot ask.
        let Some(mut settings) = self.gateway.policy.load().as_ref().map(|p| p.approval()) else {
            return Err(refusal(
                authorized.req.id,
                &held,
                codes::APPROVAL_REFUSED,
                "not approved: the policy that held the call was removed".into(),
                None,
            ));
        };
        if principal.is_none() {
            // Unauthenticated callers are indistinguishable: one cannot consent for the rest.
            settings.remember_max = std::time::Duration::ZERO;
        }
        let outcome = self
            .obtain(&mut authorized, &held, &party, settings, outbox)
            .await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(ask) => return Err(Response::result(authorized.req.id, ask)),
        };
        let call = HeldCall {
            session: &self.id,
            agent: &party.agent,
            server: &held.server,
            tool: &held.tool,
            arguments_sha256: &held.arguments_sha256,
        };
        let id = authorized.req.id.clone();
        match outcome {
            Outcome::Approved { by, how } => {
                events::approval(&call, how, &by);
                Ok(Cleared(authorized))
            }
            Outcome::Refused { why, approval } => {
                let status = approval.as_ref().map_or("refused", |a| a.status.as_str());
                events::approval(&call, status, &why);
                let message = format!("not approved: {why}");
                let approval = approval.as_deref();
                Err(refusal(
                    id,
                    &held,
                    codes::APPROVAL_REFUSED,
                    message,
                    approval,
                ))
            }
            Outcome::Unaskable => {
                let why = "nobody can be asked: no approval queue (store) and no elicitation";
                events::approval(&call, "unaskable", why);
                let message = format!("approval required: {}; {why}", held.reason);
                Err(refusal(id, &held, codes::APPROVAL_REQUIRED, message, None))
            }
        }
    }

    /// Asks whoever can be asked; `Err` is a 2026-07-28 client's `InputRequiredResult`.
    async fn obtain(
        self: &Arc<Self>,
        authorized: &mut Authorized,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
        outbox: &Outbox,
    ) -> Result<Outcome, Box<moat_proto::RawValue>> {
        let stateless = self.mode == Mode::Stateless;
        let ask_input = settings.ask_client && stateless && input::client_elicits(&authorized.req);
        // A retry carrying moat's seal is read first: the seal must not reach the upstream.
        if ask_input && input::carries_seal(&authorized.req) {
            return self.input_round(authorized, held, party, settings).await;
        }
        if let Some(outcome) = self.standing_consent(held, party).await {
            return Ok(outcome);
        }
        if ask_input {
            return self.input_round(authorized, held, party, settings).await;
        }
        if settings.ask_client && !stateless && self.client_elicits() {
            return Ok(self.elicit(held, party, settings, outbox).await);
        }
        Ok(match &self.gateway.approval_store {
            Some(store) => queue::wait(store, held, party, settings).await,
            None => Outcome::Unaskable,
        })
    }

    /// The outcome when a standing consent covers the call (or the store cannot tell).
    async fn standing_consent(&self, held: &Held, party: &Party) -> Option<Outcome> {
        let store = self.gateway.approval_store.as_ref()?;
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
            Ok(Some(consent)) => Some(Outcome::Approved {
                by: format!("standing consent {} of {}", consent.id, consent.granted_by),
                how: "consent",
            }),
            Ok(None) => None,
            Err(e) => Some(refused(format!("the approval store failed: {e}"))),
        }
    }

    /// Whether the client declared form elicitation when it initialized.
    fn client_elicits(&self) -> bool {
        input::elicits_form(&self.init_params["capabilities"])
    }

    /// Asks the user through the client, on the stream of the call itself.
    async fn elicit(
        self: &Arc<Self>,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
        outbox: &Outbox,
    ) -> Outcome {
        let max_hours = max_hours(settings);
        let params = form::elicitation_params(held, party, max_hours);
        let (id, answer) = self.routes.register_moat_request();
        // However the wait ends (answer, timeout, the client leaving), the entry goes.
        let _forget = Forget(&self.routes, id);
        let request = Request::new(Id::Num(id), "elicitation/create", Some(raw(&params)));
        if outbox.send(Message::from(request)).is_err() {
            return refused("the client went away before it was asked".into());
        }
        let response = tokio::time::timeout(settings.timeout, answer).await;
        let answer = match response {
            Ok(Ok(resp)) => form::read_response(&resp, max_hours),
            Ok(Err(_)) => Answer::refused("the session ended before the user answered"),
            Err(_) => Answer::refused(format!(
                "the user did not answer within {:?}",
                settings.timeout
            )),
        };
        self.record_answer(held, party, settings, answer).await
    }

    /// Records the user's answer (and the standing consent it gives) and turns it into the
    /// outcome; without a store it is only logged.
    async fn record_answer(
        &self,
        held: &Held,
        party: &Party,
        settings: ApprovalSettings,
        answer: Answer,
    ) -> Outcome {
        let by = format!("user {}", party.user.as_deref().unwrap_or(&party.agent));
        let Some(store) = &self.gateway.approval_store else {
            return match answer.approve {
                true => Outcome::Approved {
                    by,
                    how: "elicitation",
                },
                false => refused(answer.note),
            };
        };
        let verdict = Verdict {
            approve: answer.approve,
            by: by.clone(),
            note: Some(answer.note.clone()),
        };
        let call = new_approval(held, party, ApprovalChannel::Elicitation, settings);
        let approval = match store.approvals().record(&call, &verdict).await {
            Ok(a) => a,
            Err(e) => return refused(format!("the decision could not be recorded: {e}")),
        };
        if !answer.approve {
            return Outcome::Refused {
                why: answer.note,
                approval: Some(Box::new(approval)),
            };
        }
        if answer.remember_hours > 0 {
            remember(store, held, party, &by, answer.remember_hours).await;
        }
        Outcome::Approved {
            by,
            how: "elicitation",
        }
    }
}

/// Removes a request of moat's own from the session's routes when its waiter ends.
struct Forget<'a>(&'a super::routes::Routes, i64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let _ = self.0.take_server_request(self.1);
    }
}

/// Records the standing consent a user gave while approving; a failure is logged, not fatal
/// (this call was approved either way).
async fn remember(store: &Store, held: &Held, party: &Party, by: &str, hours: u64) {
    let consent = NewToolConsent {
        agent: party.agent.clone(),
        subject: party.user.clone(),
        server: held.server.clone(),
        tool: held.tool.clone(),
        granted_by: by.to_owned(),
        expires_at: Utc::now() + TimeDelta::hours(i64::try_from(hours).unwrap_or(0)),
    };
    if let Err(e) = store.tool_consents().grant(&consent).await {
        tracing::warn!(agent = %party.agent, tool = %held.tool, "standing consent not recorded: {e}");
    }
}

/// The longest standing consent, in whole hours, a user may give from the form.
fn max_hours(settings: ApprovalSettings) -> u64 {
    settings.remember_max.as_secs() / 3600
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
        arguments_sha256: held.arguments_sha256.clone(),
        rules: held.rules.clone(),
        reason: held.reason.clone(),
        channel,
        expires_at: Utc::now() + timeout,
    }
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
