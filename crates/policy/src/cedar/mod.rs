//! The Cedar layer: policy files validated against moat's schema at load, then asked once per
//! principal (agent, and the user it acts for) on every decision.

mod index;
mod locate;
mod schema;
mod values;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    AuthorizationError, Authorizer, Context as CedarContext, Effect, Entities, Entity, EntityUid,
    PolicyId, PolicySet, Request as CedarRequest, RestrictedExpression, Schema, ValidationError,
    ValidationMode, Validator,
};
use moat_config::{Date, Label, ServerPolicy};

use crate::request::{Action, Context, Kind, Target};
use index::{Answer, IndexedPolicies};
use locate::located;

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
                if dry_run {
                    dry_runs.add(renamed).map_err(add_error)?;
                } else if require_approval {
                    approvals.add(renamed).map_err(add_error)?;
                } else {
                    enforced.add(renamed).map_err(add_error)?;
                }
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
        let Some(query) = build(whos, action, target, server, ctx) else {
            return CedarOutcome::Refuse(
                vec!["cedar:request".into()],
                "the request could not be put to the Cedar policies".into(),
            );
        };
        let mut permits = Vec::new();
        for (i, who) in whos.iter().enumerate() {
            let answer = query.ask(i, &self.authorizer, &self.enforced);
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
        // A forbid that cannot be evaluated counts as applying: held, or refused in dry run.
        let applying = |set: &IndexedPolicies| -> Vec<String> {
            (0..whos.len())
                .flat_map(|i| {
                    let answer = query.ask(i, &self.authorizer, set);
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
        };
        if let Some(approvals) = &self.approvals {
            let mut holding = applying(approvals);
            if !holding.is_empty() {
                holding.dedup();
                return CedarOutcome::Hold(permits, holding);
            }
        }
        if let Some(dry_run) = &self.dry_run {
            let refusing = applying(dry_run);
            if !refusing.is_empty() {
                return CedarOutcome::WouldForbid(refusing);
            }
        }
        CedarOutcome::Permit(permits)
    }

    /// Whether the target could be permitted for some arguments, to every one of `whos`:
    /// asked without arguments, a permit that needs them errors and counts as "maybe"; a
    /// forbid that applies regardless hides the target.
    pub(crate) fn may_use(
        &self,
        whos: &[CedarPrincipal<'_>],
        target: &Target<'_>,
        server: &ServerPolicy,
        ctx: &Context<'_>,
    ) -> bool {
        let action = Action::use_of(target.kind);
        let Some(query) = build(whos, action, target, server, ctx) else {
            return false;
        };
        (0..whos.len()).all(|i| {
            let answer = query.ask(i, &self.authorizer, &self.enforced);
            answer.forbids.is_empty()
                && (!answer.permits.is_empty()
                    || answer.errored.iter().any(|(_, e)| *e == Effect::Permit))
        })
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

fn uid(kind: &str, id: &str) -> Option<EntityUid> {
    Some(EntityUid::from_type_name_and_id(
        type_name(kind)?,
        cedar_policy::EntityId::new(id),
    ))
}

/// The entity types of moat's schema, parsed once: parsing one runs Cedar's parser, which
/// cost more than the rest of a decision.
fn type_name(kind: &str) -> Option<cedar_policy::EntityTypeName> {
    static TYPES: std::sync::OnceLock<Vec<(&str, cedar_policy::EntityTypeName)>> =
        std::sync::OnceLock::new();
    let types = TYPES.get_or_init(|| {
        [
            "Agent", "User", "Group", "Server", "Tool", "Prompt", "Resource", "Action",
        ]
        .into_iter()
        .filter_map(|k| Some((k, k.parse().ok()?)))
        .collect()
    });
    types
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, t)| t.clone())
}

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.into())),
    )
}

/// The Cedar request and the entities it refers to.
fn build(
    whos: &[CedarPrincipal<'_>],
    action: Action,
    target: &Target<'_>,
    server: &ServerPolicy,
    ctx: &Context<'_>,
) -> Option<Query> {
    let mut principals = Vec::with_capacity(whos.len());
    let mut entities = Vec::with_capacity(whos.len() + 4);
    let mut groups: HashSet<EntityUid> = HashSet::new();
    for who in whos {
        let principal = uid(who.kind, who.id)?;
        let parents: HashSet<EntityUid> = if who.kind == "User" {
            who.groups.iter().filter_map(|g| uid("Group", g)).collect()
        } else {
            HashSet::new()
        };
        groups.extend(parents.iter().cloned());
        entities.push(
            Entity::new(
                principal.clone(),
                HashMap::from([
                    ("scopes".to_owned(), strings(who.scopes.iter().cloned())),
                    ("roles".to_owned(), strings(who.roles.iter().copied())),
                    ("groups".to_owned(), strings(who.groups.iter().cloned())),
                ]),
                parents,
            )
            .ok()?,
        );
        principals.push((principal, who.kind));
    }
    let server_uid = uid("Server", target.server)?;
    let label = target_label(server, target);
    let mut attrs = HashMap::from([
        (
            "server".to_owned(),
            RestrictedExpression::new_string(target.server.to_owned()),
        ),
        (
            "label".to_owned(),
            RestrictedExpression::new_string(label.as_str().to_owned()),
        ),
    ]);
    let name_attr = if target.kind == Kind::Resource {
        "uri"
    } else {
        "name"
    };
    attrs.insert(
        name_attr.to_owned(),
        RestrictedExpression::new_string(target.name.to_owned()),
    );
    if target.kind == Kind::Tool {
        let read_only = server.trusted && target.hints.read_only == Some(true);
        // The spec's default for a tool that is not read-only is destructive.
        let destructive = !(read_only || server.trusted && target.hints.destructive == Some(false));
        attrs.insert(
            "read_only".to_owned(),
            RestrictedExpression::new_bool(read_only),
        );
        attrs.insert(
            "destructive".to_owned(),
            RestrictedExpression::new_bool(destructive),
        );
    }
    let resource = uid(
        target.kind.entity_type(),
        &format!("{}/{}", target.server, target.name),
    )?;
    let resource_entity =
        Entity::new(resource.clone(), attrs, HashSet::from([server_uid.clone()])).ok()?;
    let server_entity = Entity::new(
        server_uid.clone(),
        HashMap::from([
            (
                "label".to_owned(),
                RestrictedExpression::new_string(server.label.as_str().to_owned()),
            ),
            (
                "trusted".to_owned(),
                RestrictedExpression::new_bool(server.trusted),
            ),
        ]),
        HashSet::new(),
    )
    .ok()?;
    entities.extend([resource_entity, server_entity]);
    entities.extend(groups.into_iter().map(Entity::with_uid));
    let entities = Entities::from_entities(entities, None).ok()?;
    let action = uid("Action", action.as_str())?;
    let context = context(ctx)?;
    let requests = principals
        .into_iter()
        .map(|(principal, kind)| {
            let request = CedarRequest::new(
                principal.clone(),
                action.clone(),
                resource.clone(),
                context.clone(),
                None,
            )
            .ok()?;
            Some((request, principal, kind))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Query {
        requests,
        entities,
        resource: (resource, server_uid),
    })
}

/// One request per principal, ready to be put to the policies, with what selects their
/// buckets; the entities and context are built once for all of them.
struct Query {
    requests: Vec<(CedarRequest, EntityUid, &'static str)>,
    entities: Entities,
    resource: (EntityUid, EntityUid),
}

impl Query {
    /// The answer for principal `i`.
    fn ask(&self, i: usize, authorizer: &Authorizer, policies: &IndexedPolicies) -> Answer {
        let (request, p, kind) = &self.requests[i];
        let (r, server) = &self.resource;
        policies.ask(authorizer, request, &self.entities, (p, kind), (r, server))
    }
}

fn target_label(server: &ServerPolicy, target: &Target<'_>) -> Label {
    match target.kind {
        Kind::Tool => server
            .tools
            .get(target.name)
            .and_then(|t| t.label)
            .unwrap_or(server.label),
        _ => server.label,
    }
}

fn context(ctx: &Context<'_>) -> Option<CedarContext> {
    let day = ctx.now_unix.div_euclid(86_400);
    let mut pairs = vec![
        (
            "time".to_owned(),
            RestrictedExpression::new_long(ctx.now_unix),
        ),
        (
            "hour".to_owned(),
            RestrictedExpression::new_long(ctx.now_unix.rem_euclid(86_400) / 3_600),
        ),
        // 1970-01-01 was a Thursday; ISO weekdays run 1 (Monday) to 7 (Sunday).
        (
            "weekday".to_owned(),
            RestrictedExpression::new_long((day + 3).rem_euclid(7) + 1),
        ),
        (
            "source_ip".to_owned(),
            RestrictedExpression::new_ip(
                ctx.source
                    .map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string()),
            ),
        ),
        (
            "session".to_owned(),
            RestrictedExpression::new_string(ctx.session.unwrap_or_default().to_owned()),
        ),
    ];
    if let Some(args) = ctx.arguments {
        let empty = serde_json::Map::new();
        let map = args.as_object().unwrap_or(&empty);
        pairs.push(("arguments".to_owned(), values::record(map)?));
    }
    CedarContext::from_pairs(pairs).ok()
}
