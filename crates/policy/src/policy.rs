//! The policy: the three layers compiled, asked in order, one decision out.

use indexmap::IndexMap;
use moat_config::{Date, PolicyConfig, ServerPolicy};

use crate::cedar::{
    CedarError, CedarList, CedarOutcome, CedarPrincipal, CedarRules, CedarSource, PolicyInfo,
};
use crate::decision::{Decision, Verdict, dedup_rules};
use crate::request::{Action, Caller, Context, Target};
use crate::roles::{BoundRoles, Holder, Roles};
use crate::{approval, scopes};

/// Why a policy cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A Cedar file is wrong.
    #[error(transparent)]
    Cedar(#[from] CedarError),
    /// The config names Cedar files that were not all given.
    #[error("policy.cedar names {expected} file(s) but {given} were read")]
    MissingSources {
        /// Named in config.
        expected: usize,
        /// Read.
        given: usize,
    },
}

/// The compiled policy. Immutable: a reload compiles a new one.
#[derive(Debug)]
pub struct Policy {
    dry_run: bool,
    approval: moat_config::ApprovalSettings,
    servers: IndexMap<String, ServerPolicy>,
    roles: Option<Roles>,
    cedar: Option<CedarRules>,
}

/// The user side of a caller, when it is a separate principal.
struct Parties<'a> {
    agent: &'a str,
    user: Option<&'a str>,
}

/// When authentication is off, the caller is this agent.
const ANONYMOUS: &str = "anonymous";

impl Policy {
    /// Compiles validated config and the texts of its Cedar files (in config order).
    pub fn compile(cfg: &PolicyConfig, sources: &[CedarSource]) -> Result<Self, PolicyError> {
        if sources.len() != cfg.cedar_files.len() {
            return Err(PolicyError::MissingSources {
                expected: cfg.cedar_files.len(),
                given: sources.len(),
            });
        }
        Ok(Self {
            dry_run: cfg.dry_run,
            approval: cfg.approval,
            servers: cfg.servers.clone(),
            roles: Roles::new(cfg.roles.clone()),
            cedar: CedarRules::compile(sources)?,
        })
    }

    /// Whether `server`'s tool annotations can change a decision: they are believed (a trusted
    /// server), or read for `destructiveHint: true` (calls to destructive tools are held).
    pub fn reads_hints(&self, server: &str) -> bool {
        self.servers.get(server).is_some_and(|s| {
            s.trusted || s.require_approval == moat_config::ApprovalRule::Destructive
        })
    }

    /// How held calls are approved (read with the policy, so a reload changes both at once).
    pub fn approval(&self) -> moat_config::ApprovalSettings {
        self.approval
    }

    /// Every Cedar policy with its owner and review date.
    pub fn cedar_policies(&self) -> &[PolicyInfo] {
        self.cedar.as_ref().map_or(&[], CedarRules::info)
    }

    /// Cedar policies whose review date is before `today`.
    pub fn overdue(&self, today: Date) -> Vec<&PolicyInfo> {
        self.cedar_policies()
            .iter()
            .filter(|p| p.review_by.is_some_and(|d| d < today))
            .collect()
    }

    /// Decides one operation.
    pub fn decide(
        &self,
        caller: &Caller<'_>,
        action: Action,
        target: &Target<'_>,
        ctx: &Context<'_>,
    ) -> Decision {
        let Some(server) = self.servers.get(target.server) else {
            return Decision::deny(
                "policy:unknown-server",
                format!("server {:?} has no policy", target.server),
            );
        };
        let decision = self.decide_on(server, caller, action, target, ctx);
        if self.dry_run || server.dry_run {
            decision.dry_run()
        } else {
            decision
        }
    }

    /// Whether a list shows `target` to `caller`: only what the caller may use is shown. A
    /// Cedar rule that depends on the arguments shows the target (the call is decided then).
    /// For a whole list, [`Policy::list_filter`] answers the same, much faster.
    pub fn visible(&self, caller: &Caller<'_>, target: &Target<'_>, ctx: &Context<'_>) -> bool {
        self.list_filter(caller, ctx).visible(target)
    }

    /// What a list shows `caller` in `ctx`: what the caller's side of each decision needs is
    /// built once for the list rather than once per entry, and what Cedar answers for a kind of
    /// entry is reused for every entry of that kind that no policy tells apart.
    pub fn list_filter<'p, 'a>(
        &'p self,
        caller: &Caller<'a>,
        ctx: &Context<'_>,
    ) -> ListFilter<'p, 'a> {
        let cedar = match &self.cedar {
            Some(cedar) if !self.dry_run => {
                let parties = parties(caller);
                let whos = principals(&parties, caller, self.roles.as_ref());
                Some(CedarList::new(cedar, &whos, ctx))
            }
            _ => None,
        };
        let roles = self.roles.as_ref().map(|roles| {
            let parties = parties(caller);
            holders(&parties, caller)
                .map(|h| roles.bound_to(h))
                .collect()
        });
        ListFilter {
            policy: self,
            caller: *caller,
            cedar,
            roles,
        }
    }

    fn decide_on(
        &self,
        server: &ServerPolicy,
        caller: &Caller<'_>,
        action: Action,
        target: &Target<'_>,
        ctx: &Context<'_>,
    ) -> Decision {
        let what = format!("{} {}/{}", action.as_str(), target.server, target.name);
        let (needed, scope_rule) = scopes::required(server, target);
        let missing: Vec<String> = needed
            .iter()
            .filter(|s| !caller.scopes.contains(s))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let mut d = Decision::deny(
                scope_rule,
                format!(
                    "the token lacks scope {} needed to {what}",
                    missing.join(" ")
                ),
            );
            d.missing_scopes = missing;
            return d;
        }
        let mut rules = vec![scope_rule];
        let parties = parties(caller);
        if let Some(roles) = &self.roles {
            for holder in holders(&parties, caller) {
                match roles.grant(holder, target) {
                    Some(role) => rules.push(format!("role:{role}")),
                    None => {
                        return Decision::deny(
                            "roles:no-grant",
                            format!("no role of {} grants {what}", describe(holder)),
                        );
                    }
                }
            }
        }
        let mut verdict = Verdict::Allow;
        let mut reason = format!("allowed to {what}");
        let mut held = Vec::new();
        if action == Action::Call
            && let Some((rule, why)) = approval::required(server, target)
        {
            held.push(rule);
            reason = why;
        }
        if let Some(cedar) = &self.cedar {
            let whos = principals(&parties, caller, self.roles.as_ref());
            match cedar.decide(&whos, action, target, server, ctx) {
                CedarOutcome::Permit(ids) => rules.extend(ids),
                CedarOutcome::Hold(ids, holding) => {
                    rules.extend(ids);
                    if held.is_empty() {
                        reason = format!("Cedar policy {} requires approval", holding.join(", "));
                    }
                    held.extend(holding);
                }
                CedarOutcome::WouldForbid(ids) => {
                    verdict = Verdict::WouldDeny;
                    reason = format!(
                        "would be forbidden by dry-run Cedar policy {}",
                        ids.join(", ")
                    );
                    rules = ids;
                }
                CedarOutcome::Refuse(ids, why) => {
                    return Decision {
                        verdict: Verdict::Deny,
                        rules: ids,
                        reason: why,
                        missing_scopes: Vec::new(),
                    };
                }
            }
        }
        // A hold is enforced; a dry-run forbid only logs: the hold wins.
        if !held.is_empty() {
            verdict = Verdict::Hold;
            reason = format!("needs a human's approval to {what}: {reason}");
            rules.extend(held);
        }
        dedup_rules(&mut rules);
        Decision {
            verdict,
            rules,
            reason,
            missing_scopes: Vec::new(),
        }
    }
}

/// What a list shows one caller (see [`Policy::list_filter`]). It keeps what it learns as it
/// goes, so it is meant for one list, asked from one thread.
pub struct ListFilter<'p, 'a> {
    policy: &'p Policy,
    caller: Caller<'a>,
    /// `None` without Cedar policies (or in dry run, where everything is shown).
    cedar: Option<CedarList<'p>>,
    /// The roles of the agent and of the user, when roles are configured.
    roles: Option<Vec<BoundRoles<'p>>>,
}

impl std::fmt::Debug for ListFilter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListFilter")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl ListFilter<'_, '_> {
    /// Whether the list shows `target`: exactly what [`Policy::visible`] answers.
    pub fn visible(&self, target: &Target<'_>) -> bool {
        let policy = self.policy;
        let Some(server) = policy.servers.get(target.server) else {
            return false;
        };
        if policy.dry_run || server.dry_run {
            return true;
        }
        let caller = &self.caller;
        let (needed, _) = scopes::required(server, target);
        if !needed.iter().all(|s| caller.scopes.contains(s)) {
            return false;
        }
        if let Some(roles) = &self.roles
            && roles.iter().any(|bound| !bound.grant(target))
        {
            return false;
        }
        match (&policy.cedar, &self.cedar) {
            (None, _) => true,
            (Some(_), Some(cedar)) => cedar.may_use(target, server),
            // Unreachable: the filter has Cedar's side whenever the policy has Cedar rules
            // and is not in dry run; hide rather than show.
            (Some(_), None) => false,
        }
    }
}

fn parties<'a>(caller: &Caller<'a>) -> Parties<'a> {
    Parties {
        agent: caller.agent.unwrap_or(ANONYMOUS),
        user: caller.user,
    }
}

/// The agent, then the user it acts for: each must be granted (confused-deputy protection).
fn holders<'a>(parties: &Parties<'a>, caller: &Caller<'a>) -> impl Iterator<Item = Holder<'a>> {
    let groups = caller.groups;
    std::iter::once(Holder::Agent(parties.agent))
        .chain(parties.user.map(|u| Holder::User(u, groups)))
}

fn principals<'a>(
    parties: &Parties<'a>,
    caller: &Caller<'a>,
    roles: Option<&'a Roles>,
) -> Vec<CedarPrincipal<'a>> {
    holders(parties, caller)
        .map(|h| {
            let roles = roles.map(|r| r.of(h).collect()).unwrap_or_default();
            match h {
                Holder::Agent(id) => CedarPrincipal {
                    kind: "Agent",
                    id,
                    scopes: caller.scopes,
                    roles,
                    groups: &[],
                },
                Holder::User(id, groups) => CedarPrincipal {
                    kind: "User",
                    id,
                    scopes: caller.scopes,
                    roles,
                    groups,
                },
            }
        })
        .collect()
}

fn describe(holder: Holder<'_>) -> String {
    match holder {
        Holder::Agent(a) => format!("agent {a:?}"),
        Holder::User(u, _) => format!("user {u:?}"),
    }
}

#[cfg(test)]
mod list_tests;
#[cfg(test)]
mod tests;
