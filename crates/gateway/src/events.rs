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

/// A request refused by a rate limit or quota.
pub(crate) fn rate_limited(
    session: &str,
    caller: &crate::auth::Caller,
    method: &str,
    rule: &str,
    retry_after: std::time::Duration,
) {
    let agent = caller
        .principal
        .as_deref()
        .map_or("anonymous", |p| p.agent());
    let retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
    tracing::warn!(
        target: "moat::governance", event = "rate_limited", session, agent, method, rule,
        retry_after_ms, "over a rate limit"
    );
}

/// A call whose arguments broke a limit or its tool's schema: `check` is `limits` or
/// `schema`, `enforced` whether it was refused (`guard.schema: log` only reports).
pub(crate) fn invalid_arguments(
    session: &str,
    server: &str,
    name: &str,
    check: &str,
    violations: &str,
    enforced: bool,
) {
    tracing::warn!(
        target: "moat::governance", event = "invalid_arguments", session, server, name, check,
        violations, enforced, "arguments refused by validation"
    );
}

/// A call refused because a URL among its arguments may not be reached (SSRF defence).
pub(crate) fn egress_refused(
    session: &str,
    server: &str,
    name: &str,
    argument: &str,
    kind: &str,
    reason: &str,
) {
    tracing::warn!(
        target: "moat::governance", event = "egress_refused", session, server, name, argument,
        kind, reason, "call refused: a URL argument leads where the tool may not go"
    );
}

/// Text that scored as (or towards) a prompt injection: the rules that fired and the highest
/// score, never the text.
pub(crate) fn injection(session: &str, place: &str, outcome: &moat_guard::injection::Outcome) {
    let rules: Vec<String> = outcome
        .rules
        .iter()
        .map(|(rule, n)| format!("{}:{n}", rule.id()))
        .collect();
    let rules = rules.join(",");
    let verdict = match outcome.verdict {
        Some(moat_guard::injection::Verdict::Injection) => "injection",
        _ => "suspicious",
    };
    tracing::warn!(
        target: "moat::governance", event = "injection", session, method = place, rules,
        score = outcome.max_score, verdict, blocked = outcome.blocked, stripped = outcome.changed,
        "prompt-injection signals"
    );
}

/// A tool result cut down by `guard.results`: fields removed, and the size it had when it was
/// truncated or withheld.
pub(crate) fn minimised(
    session: &str,
    server: &str,
    name: &str,
    removed_fields: usize,
    truncated_from: Option<usize>,
) {
    let bytes = truncated_from.unwrap_or(0);
    tracing::info!(
        target: "moat::governance", event = "minimised", session, server, name, removed_fields,
        bytes, "result cut down"
    );
}

/// An external guardrail denied or replaced a result or a call's arguments.
pub(crate) fn guardrail(
    session: &str,
    server: &str,
    name: &str,
    direction: &str,
    outcome: &str,
    reason: &str,
) {
    tracing::warn!(
        target: "moat::governance", event = "guardrail", session, server, name, direction,
        outcome, reason, "guardrail decision"
    );
}

/// A definition moat saw for the first time or saw changed, and where it now stands. A rug pull
/// (an approved definition that changed) is an error-level alert.
pub(crate) fn catalog_sighting(
    server: &str,
    definition: &moat_catalog::Definition,
    seen: moat_catalog::Observation,
    status: moat_catalog::EntryStatus,
    reason: &str,
) {
    let kind = definition.kind.as_str();
    let name = definition.name.as_str();
    let sha256 = definition.sha256.as_str();
    let status = status.as_str();
    if seen.is_rug_pull() {
        tracing::error!(
            target: "moat::governance", event = "quarantine", alert = "rug_pull", server, kind,
            name, sha256, status, reason,
            "definition changed after approval: quarantined until approved again (moat catalog diff {server}/{name})"
        );
    } else if matches!(seen, moat_catalog::Observation::New(_)) {
        tracing::info!(
            target: "moat::governance", event = "catalog", change = "new", server, kind, name,
            sha256, status, reason, "new definition"
        );
    } else {
        tracing::warn!(
            target: "moat::governance", event = "catalog", change = "changed", server, kind,
            name, sha256, status, reason, "definition changed"
        );
    }
}
