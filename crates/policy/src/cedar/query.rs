//! A request as Cedar sees it: the caller's side (principals, their groups, the context), built
//! once per decision or once per list, and the target's side (the target and its server).
//!
//! Only what some policy can read is built: an attribute no policy names, or a context entry no
//! policy reads, cannot change any evaluation (Cedar reads attributes only by name), and
//! building them was most of a decision's cost (the source address alone runs Cedar's parser).

use std::collections::{HashMap, HashSet};

use cedar_policy::{
    Authorizer, Context as CedarContext, Entities, Entity, EntityUid, Request as CedarRequest,
    RestrictedExpression,
};
use moat_config::{Label, ServerPolicy};

use super::CedarPrincipal;
use super::index::{Answer, IndexedPolicies, Of, Part, Who};
use super::reads::Reads;
use super::values;
use crate::request::{Action, Context, Kind, Target};

/// What the policies read, over all of them.
#[derive(Debug, Default)]
pub(super) struct Needs {
    /// The attribute names read; `None`: any may be.
    attrs: Option<HashSet<String>>,
    /// Whether some policy uses the context as a whole.
    whole_context: bool,
}

impl Needs {
    /// Adds what one more policy reads.
    pub(super) fn add(&mut self, reads: &Reads) {
        self.whole_context |= reads.whole_context;
        if reads.any_attr {
            self.attrs = None;
        } else if let Some(attrs) = &mut self.attrs {
            attrs.extend(reads.attrs.iter().cloned());
        }
    }

    /// Nothing read yet.
    pub(super) fn none() -> Self {
        Self {
            attrs: Some(HashSet::new()),
            whole_context: false,
        }
    }

    fn attr(&self, name: &str) -> bool {
        self.attrs.as_ref().is_none_or(|a| a.contains(name))
    }

    fn context(&self, name: &str) -> bool {
        self.whole_context || self.attr(name)
    }

    /// Adds attribute `name` to `attrs` if some policy reads it (only then is it built).
    fn put(
        &self,
        attrs: &mut HashMap<String, RestrictedExpression>,
        name: &str,
        value: impl FnOnce() -> RestrictedExpression,
    ) {
        if self.attr(name) {
            attrs.insert(name.to_owned(), value());
        }
    }
}

/// The caller's side of a request.
pub(super) struct CallerSide {
    /// Each principal, with its type.
    principals: Vec<(EntityUid, &'static str)>,
    /// The principals. Their groups are their parents but not entities of the store: a group
    /// has no attributes (the schema gives it none), so `principal in Group::"g"` reads only
    /// the principal's ancestors, and the transitive closure Cedar computes per store (a tenth
    /// of a decision) has fewer nodes.
    entities: Vec<Entity>,
    context: CedarContext,
}

impl CallerSide {
    /// `None` when Cedar refuses a value (which would be a bug): the caller then gets nothing.
    pub(super) fn new(
        whos: &[CedarPrincipal<'_>],
        ctx: &Context<'_>,
        needs: &Needs,
    ) -> Option<Self> {
        let mut principals = Vec::with_capacity(whos.len());
        let mut entities = Vec::with_capacity(whos.len() + 2);
        for who in whos {
            let principal = uid(who.kind, who.id)?;
            let parents: HashSet<EntityUid> = if who.kind == "User" {
                who.groups.iter().filter_map(|g| uid("Group", g)).collect()
            } else {
                HashSet::new()
            };
            let mut attrs = HashMap::new();
            needs.put(&mut attrs, "scopes", || strings(who.scopes.iter().cloned()));
            needs.put(&mut attrs, "roles", || strings(who.roles.iter().copied()));
            needs.put(&mut attrs, "groups", || strings(who.groups.iter().cloned()));
            entities.push(Entity::new(principal.clone(), attrs, parents).ok()?);
            principals.push((principal, who.kind));
        }
        Some(Self {
            principals,
            entities,
            context: context(ctx, needs)?,
        })
    }

    pub(super) fn len(&self) -> usize {
        self.principals.len()
    }

    /// Principal `i` as the index selects its buckets.
    pub(super) fn who(&self, i: usize) -> Who<'_> {
        let (uid, kind) = &self.principals[i];
        Who::Principal(uid, kind)
    }
}

/// The target's side of a request: its uid, its server's, and their entities.
pub(super) struct TargetSide {
    resource: EntityUid,
    server: EntityUid,
    entities: [Entity; 2],
}

impl TargetSide {
    /// `None` when a name is not a valid entity id for Cedar (it always is).
    pub(super) fn new(target: &Target<'_>, server: &ServerPolicy, needs: &Needs) -> Option<Self> {
        let (resource, server_uid) = target_uids(target)?;
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let mut attrs = HashMap::new();
        needs.put(&mut attrs, "server", || string(target.server));
        needs.put(&mut attrs, "label", || string(label_of(server, target)));
        let name_attr = if target.kind == Kind::Resource {
            "uri"
        } else {
            "name"
        };
        needs.put(&mut attrs, name_attr, || string(target.name));
        if let Some((read_only, destructive)) = tool_hints(target, server) {
            needs.put(&mut attrs, "read_only", || {
                RestrictedExpression::new_bool(read_only)
            });
            needs.put(&mut attrs, "destructive", || {
                RestrictedExpression::new_bool(destructive)
            });
        }
        let parents = HashSet::from([server_uid.clone()]);
        let resource_entity = Entity::new(resource.clone(), attrs, parents).ok()?;
        let mut attrs = HashMap::new();
        needs.put(&mut attrs, "label", || string(server.label.as_str()));
        needs.put(&mut attrs, "trusted", || {
            RestrictedExpression::new_bool(server.trusted)
        });
        let server_entity = Entity::new(server_uid.clone(), attrs, HashSet::new()).ok()?;
        Some(Self {
            resource,
            server: server_uid,
            entities: [resource_entity, server_entity],
        })
    }
}

/// The uids of a target and of its server.
pub(super) fn target_uids(target: &Target<'_>) -> Option<(EntityUid, EntityUid)> {
    let resource = uid(
        target.kind.entity_type(),
        &format!("{}/{}", target.server, target.name),
    )?;
    Some((resource, uid("Server", target.server)?))
}

/// A tool's `read_only` and `destructive` as policies see them; `None` for other kinds.
pub(super) fn tool_hints(target: &Target<'_>, server: &ServerPolicy) -> Option<(bool, bool)> {
    if target.kind != Kind::Tool {
        return None;
    }
    let read_only = server.trusted && target.hints.read_only == Some(true);
    // The spec's default for a tool that is not read-only is destructive.
    let destructive = !(read_only || server.trusted && target.hints.destructive == Some(false));
    Some((read_only, destructive))
}

/// One request per principal, ready to be put to the policies.
pub(super) struct Query {
    requests: Vec<CedarRequest>,
    entities: Entities,
    resource: EntityUid,
    server: EntityUid,
}

impl Query {
    pub(super) fn new(caller: &CallerSide, action: Action, target: TargetSide) -> Option<Self> {
        let entities = caller.entities.iter().cloned().chain(target.entities);
        let entities = Entities::from_entities(entities, None).ok()?;
        let action = uid("Action", action.as_str())?;
        let requests = caller
            .principals
            .iter()
            .map(|(principal, _)| {
                CedarRequest::new(
                    principal.clone(),
                    action.clone(),
                    target.resource.clone(),
                    caller.context.clone(),
                    None,
                )
                .ok()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            requests,
            entities,
            resource: target.resource,
            server: target.server,
        })
    }

    /// The answer of `policies` for `who` (asked with the first principal's request when
    /// `who` is anyone: those policies do not look at it).
    pub(super) fn ask(
        &self,
        authorizer: &Authorizer,
        policies: &IndexedPolicies,
        (who, i): (Who<'_>, usize),
        part: Part,
    ) -> Answer {
        let Some(request) = self.requests.get(i) else {
            return Answer::default();
        };
        let of = Of {
            resource: &self.resource,
            server: &self.server,
        };
        policies.ask(authorizer, request, &self.entities, (who, of), part)
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

/// The label policies see on `target`.
pub(super) fn label_of(server: &ServerPolicy, target: &Target<'_>) -> &'static str {
    target_label(server, target).as_str()
}

fn context(ctx: &Context<'_>, needs: &Needs) -> Option<CedarContext> {
    let day = ctx.now_unix.div_euclid(86_400);
    let mut pairs = Vec::with_capacity(6);
    let mut add = |name: &str, value: &dyn Fn() -> Option<RestrictedExpression>| {
        if needs.context(name) {
            pairs.push((name.to_owned(), value()?));
        }
        Some(())
    };
    add("time", &|| {
        Some(RestrictedExpression::new_long(ctx.now_unix))
    })?;
    add("hour", &|| {
        Some(RestrictedExpression::new_long(
            ctx.now_unix.rem_euclid(86_400) / 3_600,
        ))
    })?;
    // 1970-01-01 was a Thursday; ISO weekdays run 1 (Monday) to 7 (Sunday).
    add("weekday", &|| {
        Some(RestrictedExpression::new_long((day + 3).rem_euclid(7) + 1))
    })?;
    add("source_ip", &|| {
        let ip = ctx
            .source
            .map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string());
        Some(RestrictedExpression::new_ip(ip))
    })?;
    add("session", &|| {
        Some(RestrictedExpression::new_string(
            ctx.session.unwrap_or_default().to_owned(),
        ))
    })?;
    if let Some(args) = ctx.arguments {
        add("arguments", &|| {
            let empty = serde_json::Map::new();
            values::record(args.as_object().unwrap_or(&empty))
        })?;
    }
    CedarContext::from_pairs(pairs).ok()
}

pub(super) fn uid(kind: &str, id: &str) -> Option<EntityUid> {
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
