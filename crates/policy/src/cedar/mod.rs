//! The Cedar layer: policy files validated against moat's schema at load, then asked once per
//! principal (agent, and the user it acts for) on every decision.

mod index;
mod list;
mod locate;
mod query;
mod reads;
mod schema;
mod values;

use std::collections::HashSet;
use std::str::FromStr;

use cedar_policy::{
    AuthorizationError, Authorizer, Effect, PolicyId, PolicySet, Schema, ValidationError,
    ValidationMode, Validator,
};
use moat_config::{Date, ServerPolicy};

use crate::request::{Action, Context, Target};
use index::{Answer, IndexedPolicies, Part, Who};
pub(crate) use list::CedarList;
use locate::located;
use query::{CallerSide, Needs, Query, TargetSide};
use reads::Reads;

/// One policy file's text, read at the edge.
#[derive(Debug, Clone)]
pub struct CedarSource {
    /// Its path as the config names it (used in errors and rule ids).
    pub name: String,
    /// Its contents.
    pub text: String,
}

/// A policy file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CedarError {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// What moat knows of one Cedar policy besides its rule: for listings and reviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// Its rule id: `@id("…")`, else `<file>#<n>` (n counts from 0 in the file).
    pub id: String,
    /// The file it is in.
    pub file: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// `@owner("…")`.
    pub owner: Option<String>,
    /// `@review_by("YYYY-MM-DD")`.
    pub review_by: Option<Date>,
    /// `@dry_run`: what it would refuse is logged, not refused.
    pub dry_run: bool,
    /// `@require_approval` (on a `forbid`): what it would refuse is held for a human instead.
    pub require_approval: bool,
}

/// The compiled policies.
#[derive(Debug)]
pub(crate) struct CedarRules {
    /// Every policy not in dry-run mode: these decide.
    enforced: IndexedPolicies,
    /// The policies in dry-run mode, when there are any: asked only about what the enforced
    /// ones allow, to tell what they would refuse.
    dry_run: Option<IndexedPolicies>,
    /// The `@require_approval` forbids, when there are any: asked about what the enforced ones
    /// allow, to tell what must wait for a human.
    approvals: Option<IndexedPolicies>,
    info: Vec<PolicyInfo>,
    /// What the policies read, over all three sets: what a request needs built.
    needs: Needs,
    authorizer: Authorizer,
}

/// A principal as Cedar sees it.
pub(crate) struct CedarPrincipal<'a> {
    /// `Agent` or `User`.
    pub(crate) kind: &'static str,
    pub(crate) id: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) roles: Vec<&'a str>,
    pub(crate) groups: &'a [String],
}

/// What the Cedar layer says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CedarOutcome {
    /// Permitted by these policies.
    Permit(Vec<String>),
    /// Permitted by the enforced policies, refused by these dry-run ones.
    WouldForbid(Vec<String>),
    /// Permitted by the first policies once a human approves, as the second require.
    Hold(Vec<String>, Vec<String>),
    /// Refused: the rule ids and the reason.
    Refuse(Vec<String>, String),
}

impl CedarRules {
    /// Parses and validates every file; the first problem is reported with its file and line.
    pub(crate) fn compile(sources: &[CedarSource]) -> Result<Option<Self>, CedarError> {
        if sources.is_empty() {
            return Ok(None);
        }
        let schema = Schema::from_json_value(schema::schema_json()).map_err(|e| CedarError {
            file: "<moat's Cedar schema>".into(),
            line: None,
            message: e.to_string(),
        })?;
        let validator = Validator::new(schema);
        let mut enforced = IndexedPolicies::default();
        let mut dry_runs = IndexedPolicies::default();
        let mut approvals = IndexedPolicies::default();
        let mut info = Vec::new();
        let mut needs = Needs::none();
        let mut seen = HashSet::new();
        for source in sources {
            let parsed = PolicySet::from_str(&source.text)
                .map_err(|e| located(&source.name, &source.text, &e, "syntax error"))?;
            let result = validator.validate(&parsed, ValidationMode::Strict);
            if let Some(e) = result.validation_errors().find(|e| !is_argument_access(e)) {
                return Err(located(&source.name, &source.text, e, "invalid policy"));
            }
            let mut policies: Vec<_> = parsed.policies().collect();
            // The parser numbers policies policy0, policy1, … in file order.
            policies.sort_by_key(|p| {
                p.id()
                    .to_string()
                    .trim_start_matches("policy")
                    .parse::<usize>()
                    .unwrap_or(usize::MAX)
            });
            for (n, policy) in policies.into_iter().enumerate() {
                let id = policy
                    .annotation("id")
                    .map_or_else(|| format!("{}#{n}", source.name), str::to_owned);
                if !seen.insert(id.clone()) {
                    return Err(CedarError {
                        file: source.name.clone(),
                        line: None,
                        message: format!("two policies have the id {id:?}"),
                    });
                }
                let review_by = match policy.annotation("review_by") {
                    None => None,
                    Some(d) => Some(Date::parse(d).ok_or_else(|| CedarError {
                        file: source.name.clone(),
                        line: None,
                        message: format!(
                            "policy {id:?}: @review_by({d:?}) is not a date YYYY-MM-DD"
                        ),
                    })?),
                };
                let dry_run = policy.annotation("dry_run").is_some();
                let require_approval = policy.annotation("require_approval").is_some();
                let add_error = |message: String| CedarError {
                    file: source.name.clone(),
                    line: None,
                    message,
                };
                if require_approval && (dry_run || policy.effect() == Effect::Permit) {
                    return Err(add_error(format!(
                        "policy {id:?}: @require_approval goes only on a forbid without @dry_run"
                    )));
                }
                let renamed = policy.new_id(PolicyId::new(&id));
                let reads = Reads::of(&renamed);
                needs.add(&reads);
                let set = if dry_run {
                    &mut dry_runs
                } else if require_approval {
                    &mut approvals
                } else {
                    &mut enforced
                };
                set.add(renamed, &reads).map_err(add_error)?;
                info.push(PolicyInfo {
                    id,
                    file: source.name.clone(),
                    effect: match policy.effect() {
                        Effect::Permit => "permit",
                        Effect::Forbid => "forbid",
                    },
                    owner: policy.annotation("owner").map(str::to_owned),
                    review_by,
                    dry_run,
                    require_approval,
                });
            }
        }
        let dry_run = info.iter().any(|i| i.dry_run).then_some(dry_runs);
        let approvals = info.iter().any(|i| i.require_approval).then_some(approvals);
        Ok(Some(Self {
            enforced,
            dry_run,
            approvals,
            info,
            needs,
            authorizer: Authorizer::new(),
        }))
    }

    pub(crate) fn info(&self) -> &[PolicyInfo] {
        &self.info
    }

    /// Asks whether each of `whos` may do `action` on `target`: the first refusal decides.
    ///
    /// A `forbid` that cannot be evaluated (an argument of the wrong type, say) refuses: a
    /// rule meant to stop something must not be sidestepped by making it fail.
    pub(crate) fn decide(
        &self,
        whos: &[CedarPrincipal<'_>],
        action: Action,
        target: &Target<'_>,
        server: &ServerPolicy,
        ctx: &Context<'_>,
    ) -> CedarOutcome {
        let Some((caller, query)) = self.query(whos, action, target, server, ctx) else {
            return CedarOutcome::Refuse(
                vec!["cedar:request".into()],
                "the request could not be put to the Cedar policies".into(),
            );
        };
        let mut permits = Vec::new();
        let answers = self.answers(&caller, &query, &self.enforced);
        for (who, answer) in whos.iter().zip(answers) {
            if let Some((id, _)) = answer.errored.iter().find(|(_, e)| *e == Effect::Forbid) {
                return CedarOutcome::Refuse(
                    vec![id.to_string()],
                    format!(
                        "forbid rule {id} could not be evaluated for this request, so it refuses"
                    ),
                );
            }
            if !answer.forbids.is_empty() {
                let ids = names(&answer.forbids);
                let reason = format!("forbidden by Cedar policy {}", ids.join(", "));
                return CedarOutcome::Refuse(ids, reason);
            }
            if answer.permits.is_empty() {
                let reason = format!(
                    "no Cedar policy permits {} {:?} to {} {}/{}",
                    who.kind,
                    who.id,
                    action.as_str(),
                    target.server,
                    target.name
                );
                return CedarOutcome::Refuse(vec!["cedar:no-permit".into()], reason);
            }
            permits.extend(names(&answer.permits));
        }
        if let Some(approvals) = &self.approvals {
            let mut holding = self.applying(&caller, &query, approvals);
            if !holding.is_empty() {
                crate::decision::dedup_rules(&mut holding);
                return CedarOutcome::Hold(permits, holding);
            }
        }
        if let Some(dry_run) = &self.dry_run {
            let refusing = self.applying(&caller, &query, dry_run);
            if !refusing.is_empty() {
                return CedarOutcome::WouldForbid(refusing);
            }
        }
        CedarOutcome::Permit(permits)
    }

    /// The request's two sides, built once for every policy set asked.
    fn query(
        &self,
        whos: &[CedarPrincipal<'_>],
        action: Action,
        target: &Target<'_>,
        server: &ServerPolicy,
        ctx: &Context<'_>,
    ) -> Option<(CallerSide, Query)> {
        let caller = CallerSide::new(whos, ctx, &self.needs)?;
        let query = Query::new(
            &caller,
            action,
            TargetSide::new(target, server, &self.needs)?,
        )?;
        Some((caller, query))
    }

    /// What `set` answers for each principal: the policies that look at it, and those that do
    /// not, evaluated once for all.
    /// Lazily: a refusal of the agent needs no evaluation for the user.
    fn answers<'q>(
        &'q self,
        caller: &'q CallerSide,
        query: &'q Query,
        set: &'q IndexedPolicies,
    ) -> impl Iterator<Item = Answer> + 'q {
        let anyone = query.ask(&self.authorizer, set, (Who::Anyone, 0), Part::All);
        (0..caller.len()).map(move |i| {
            let mut answer = anyone.clone();
            answer.merge(&query.ask(&self.authorizer, set, (caller.who(i), i), Part::All));
            answer
        })
    }

    /// The forbids of `set` that apply to some principal. A forbid that cannot be evaluated
    /// counts as applying: held, or refused in dry run.
    fn applying(&self, caller: &CallerSide, query: &Query, set: &IndexedPolicies) -> Vec<String> {
        self.answers(caller, query, set)
            .flat_map(|answer| {
                let errored = answer
                    .errored
                    .into_iter()
                    .filter(|(_, e)| *e == Effect::Forbid)
                    .map(|(id, _)| id);
                answer
                    .forbids
                    .into_iter()
                    .chain(errored)
                    .collect::<Vec<_>>()
            })
            .map(|id| id.to_string())
            .collect()
    }

    /// The enforced policies, which decide what a list shows.
    fn enforced(&self) -> &IndexedPolicies {
        &self.enforced
    }

    fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    fn needs(&self) -> &Needs {
        &self.needs
    }

    /// Builds every attribute and context entry, read or not: what the pruned requests are
    /// compared with.
    #[cfg(test)]
    pub(crate) fn read_everything(&mut self) {
        self.needs = Needs::default();
    }
}

fn names(ids: &[PolicyId]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// Whether a validation error is only an access to a tool argument, which the schema cannot
/// declare.
fn is_argument_access(e: &ValidationError) -> bool {
    matches!(e, ValidationError::UnsafeAttributeAccess(_)) && e.to_string().contains("`arguments.")
}

fn errored_policy(e: &AuthorizationError) -> &PolicyId {
    match e {
        AuthorizationError::PolicyEvaluationError(e) => e.policy_id(),
    }
}
