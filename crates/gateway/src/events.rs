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

/// How a held call ended: `status` is how it was approved (`consent`, `elicitation`,
/// `queue`) or why not (`denied`, `expired`, `cancelled`, `refused`, `unaskable`); `detail` says
/// who decided or why. The arguments appear only as their hash.
pub(crate) fn approval(
    session: &str,
    agent: &str,
    server: &str,
    tool: &str,
    arguments_sha256: &str,
    status: &str,
    detail: &str,
) {
    match status {
        "consent" | "elicitation" | "queue" => tracing::info!(
            target: "moat::governance", event = "approval", status = "approved", via = status,
            session, agent, server, tool, arguments_sha256, by = detail, "held call approved"
        ),
        _ => tracing::warn!(
            target: "moat::governance", event = "approval", status, session, agent, server, tool,
            arguments_sha256, reason = detail, "held call not approved"
        ),
    }
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
