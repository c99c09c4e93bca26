//! Governance events: what each stage decided, as one typed record per event. Today they go to
//! the log (target `moat::governance`, structured fields); the audit trail and metrics will
//! consume the same calls.

use moat_policy::{Caller, Decision, Target, Verdict};

/// An authorization decision about one operation.
pub(crate) fn decided(
    session: &str,
    who: &Caller<'_>,
    method: &str,
    target: &Target<'_>,
    decision: &Decision,
) {
    let rules = decision.rules.join(",");
    let agent = who.agent.unwrap_or("anonymous");
    let user = who.user.unwrap_or("");
    let (server, name) = (target.server, target.name);
    match decision.verdict {
        // Allowed calls are the bulk of traffic: logged only when asked for.
        Verdict::Allow => tracing::debug!(
            target: "moat::governance", event = "decision", verdict = "allow", session, agent,
            user, method, server, name, rules, "allowed"
        ),
        Verdict::Deny => tracing::warn!(
            target: "moat::governance", event = "decision", verdict = "deny", session, agent,
            user, method, server, name, rules, reason = %decision.reason, "denied"
        ),
        Verdict::Hold => tracing::info!(
            target: "moat::governance", event = "decision", verdict = "hold", session, agent,
            user, method, server, name, rules, reason = %decision.reason,
            "held for a human's approval"
        ),
        Verdict::WouldDeny => tracing::warn!(
            target: "moat::governance", event = "decision", verdict = "would_deny", session,
            agent, user, method, server, name, rules, reason = %decision.reason,
            "would deny (dry run): let through"
        ),
    }
}

/// A held call, as governance events name it: the arguments only by their hash.
pub(crate) struct HeldCall<'a> {
    pub(crate) session: &'a str,
    pub(crate) agent: &'a str,
    pub(crate) server: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) arguments_sha256: &'a str,
}

/// How a held call ended: `how` it was approved (`consent`, `elicitation`, `continued`,
/// `queue`) or why not (`denied`, `expired`, `cancelled`, `refused`, `unaskable`); `detail`
/// says who decided or why.
pub(crate) fn approval(call: &HeldCall<'_>, how: &str, detail: &str) {
    let HeldCall {
        session,
        agent,
        server,
        tool,
        arguments_sha256,
    } = *call;
    match how {
        "consent" | "elicitation" | "continued" | "queue" => tracing::info!(
            target: "moat::governance", event = "approval", status = "approved", via = how,
            session, agent, server, tool, arguments_sha256, by = detail, "held call approved"
        ),
        _ => tracing::warn!(
            target: "moat::governance", event = "approval", status = how, session, agent,
            server, tool, arguments_sha256, reason = detail, "held call not approved"
        ),
    }
}

/// What content inspection found in an answer: counts by class and action, never values.
pub(crate) fn findings(session: &str, method: &str, outcome: &moat_guard::Outcome) {
    let found: Vec<String> = outcome
        .counts
        .iter()
        .map(|((class, action), n)| format!("{class}:{action}:{n}"))
        .collect();
    let found = found.join(",");
    tracing::info!(
        target: "moat::governance", event = "findings", session, method, found,
        blocked = outcome.blocked, "sensitive data in an answer"
    );
}

/// A policy reload, applied or refused.
pub(crate) fn policy_reloaded(outcome: Result<(), &str>) {
    match outcome {
        Ok(()) => tracing::info!(target: "moat::governance", event = "reload", "policy reloaded"),
        Err(why) => tracing::error!(
            target: "moat::governance", event = "reload", error = why,
            "policy reload refused; the previous policy keeps serving"
        ),
    }
}
