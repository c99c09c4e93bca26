//! Policies sorted by the principals and resources their scope can match, so a request is put
//! only to the policies that could apply to it.
//!
//! Cedar's authorizer evaluates every policy of a set (about 1 µs each), which makes a decision
//! grow with the policy count. A policy's scope (`principal == …`, `resource in …`) is a
//! necessary condition, so each policy goes to the one bucket its scope needs, and a request
//! evaluates the few buckets its principal and resource select; the answers combine exactly as
//! one evaluation of all policies would (any satisfied forbid denies, else any permit allows).
//!
//! Within a scope, policies are split further by what they read (`reads.rs`): those that never
//! look at the principal are asked once for the agent and the user, and those that cannot tell
//! one target from another of the same shape (server, kind, label, hints) apart from the others,
//! so a list asks them once per shape instead of once per entry.

use std::collections::HashMap;

use cedar_policy::{
    Authorizer, Decision, Effect, Entities, EntityUid, Policy, PolicyId, PolicySet,
    PrincipalConstraint, Request, ResourceConstraint,
};

use super::reads::Reads;

/// The principals a policy's scope can match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PrincipalKey {
    /// Any principal, and the policy never looks at it: its answer is the same for the agent
    /// and for the user, so it is evaluated once for both.
    Free,
    Any,
    /// Exactly this entity (agents and users have no descendants).
    Uid(EntityUid),
    /// Entities of this type (`Agent` or `User`, the principal types of the schema).
    Type(&'static str),
}

/// The resources a policy's scope can match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ResourceKey {
    Any,
    /// Exactly this tool, prompt or resource.
    Uid(EntityUid),
    /// Anything of this server.
    Server(EntityUid),
}

fn principal_key(c: PrincipalConstraint, reads: &Reads) -> PrincipalKey {
    match c {
        PrincipalConstraint::Any if !reads.principal => PrincipalKey::Free,
        PrincipalConstraint::Any => PrincipalKey::Any,
        PrincipalConstraint::Eq(uid) => PrincipalKey::Uid(uid),
        PrincipalConstraint::Is(t) | PrincipalConstraint::IsIn(t, _) => {
            match t.to_string().as_str() {
                "Agent" => PrincipalKey::Type("Agent"),
                "User" => PrincipalKey::Type("User"),
                // No principal has another type (the validator says so): asking it of every
                // principal is merely slower.
                _ => PrincipalKey::Any,
            }
        }
        PrincipalConstraint::In(uid) => match uid.type_name().to_string().as_str() {
            "Agent" | "User" => PrincipalKey::Uid(uid),
            // Only users are members of groups.
            "Group" => PrincipalKey::Type("User"),
            _ => PrincipalKey::Any,
        },
    }
}

fn resource_key(c: ResourceConstraint) -> ResourceKey {
    let within = |uid: EntityUid| match uid.type_name().to_string().as_str() {
        "Server" => ResourceKey::Server(uid),
        // Tools, prompts and resources have no descendants.
        "Tool" | "Prompt" | "Resource" => ResourceKey::Uid(uid),
        _ => ResourceKey::Any,
    };
    match c {
        ResourceConstraint::Any | ResourceConstraint::Is(_) => ResourceKey::Any,
        ResourceConstraint::Eq(uid) => ResourceKey::Uid(uid),
        ResourceConstraint::In(uid) | ResourceConstraint::IsIn(_, uid) => within(uid),
    }
}

/// A bucket: who and what the policies' scope can match, and whether they tell one target from
/// another of the same shape (server, kind, label, hints).
type Key = (PrincipalKey, ResourceKey, bool);

/// A policy set split by scope.
#[derive(Debug, Default)]
pub(super) struct IndexedPolicies {
    /// Hashed with foldhash: a list filter looks buckets up for every entry, and SipHash of
    /// entity ids was a tenth of its time. The keys come from policies and the request, not
    /// from a client choosing many colliding names.
    buckets: HashMap<Key, PolicySet, foldhash::fast::RandomState>,
    effects: HashMap<PolicyId, Effect>,
}

/// Whose policies to ask about.
#[derive(Debug, Clone, Copy)]
pub(super) enum Who<'a> {
    /// The policies that never look at the principal: asked once for all principals.
    Anyone,
    /// The policies that could apply to this principal (of this type) and look at it.
    Principal(&'a EntityUid, &'static str),
}

/// Which policies of the target's buckets to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Those whose answer is the same for every target of the same shape.
    Shape,
    /// Those that tell targets of the same shape apart.
    Identity,
    /// Both.
    All,
}

/// The target of a request, as its buckets are selected.
#[derive(Debug, Clone, Copy)]
pub(super) struct Of<'a> {
    pub(super) resource: &'a EntityUid,
    pub(super) server: &'a EntityUid,
}

/// What the policies that could apply said.
#[derive(Debug, Default, Clone)]
pub(super) struct Answer {
    /// Satisfied forbids.
    pub(super) forbids: Vec<PolicyId>,
    /// Satisfied permits.
    pub(super) permits: Vec<PolicyId>,
    /// Policies whose evaluation failed, with their effect.
    pub(super) errored: Vec<(PolicyId, Effect)>,
}

impl Answer {
    /// Adds what other policies said.
    pub(super) fn merge(&mut self, other: &Self) {
        self.forbids.extend(other.forbids.iter().cloned());
        self.permits.extend(other.permits.iter().cloned());
        self.errored.extend(other.errored.iter().cloned());
    }
}

impl IndexedPolicies {
    /// Adds a policy; the error is Cedar's reason (a duplicate id, say).
    pub(super) fn add(&mut self, policy: Policy, reads: &Reads) -> Result<(), String> {
        let resource = resource_key(policy.resource_constraint());
        let identity = reads.identity || matches!(resource, ResourceKey::Uid(_));
        let key = (
            principal_key(policy.principal_constraint(), reads),
            resource,
            identity,
        );
        self.effects.insert(policy.id().clone(), policy.effect());
        self.buckets
            .entry(key)
            .or_default()
            .add(policy)
            .map_err(|e| e.to_string())
    }

    /// The non-empty buckets `who` and `of` select.
    pub(super) fn sets(&self, who: Who<'_>, of: Of<'_>, part: Part) -> Vec<&PolicySet> {
        let mut sets = Vec::new();
        if self.buckets.is_empty() {
            return sets;
        }
        let principals = match who {
            Who::Anyone => [Some(PrincipalKey::Free), None, None],
            Who::Principal(uid, kind) => [
                Some(PrincipalKey::Any),
                Some(PrincipalKey::Uid(uid.clone())),
                Some(PrincipalKey::Type(kind)),
            ],
        };
        let (shape, identity) = match part {
            Part::Shape => (true, false),
            Part::Identity => (false, true),
            Part::All => (true, true),
        };
        let resources = [
            (ResourceKey::Any, false, shape),
            (ResourceKey::Server(of.server.clone()), false, shape),
            (ResourceKey::Any, true, identity),
            (ResourceKey::Server(of.server.clone()), true, identity),
            (ResourceKey::Uid(of.resource.clone()), true, identity),
        ];
        for p in principals.into_iter().flatten() {
            for (r, exact, wanted) in &resources {
                if !wanted {
                    continue;
                }
                let key = (p.clone(), r.clone(), *exact);
                if let Some(set) = self.buckets.get(&key) {
                    sets.push(set);
                }
            }
        }
        sets
    }

    /// Puts `request` (whose principal is `who`'s, if any) to every bucket `who` and `of`
    /// select.
    pub(super) fn ask(
        &self,
        authorizer: &Authorizer,
        request: &Request,
        entities: &Entities,
        (who, of): (Who<'_>, Of<'_>),
        part: Part,
    ) -> Answer {
        let mut answer = Answer::default();
        for set in self.sets(who, of, part) {
            let response = authorizer.is_authorized(request, set, entities);
            let reasons = response.diagnostics().reason().cloned();
            match response.decision() {
                Decision::Allow => answer.permits.extend(reasons),
                Decision::Deny => answer.forbids.extend(reasons),
            }
            for e in response.diagnostics().errors() {
                let id = super::errored_policy(e).clone();
                let effect = self.effects.get(&id).copied().unwrap_or(Effect::Forbid);
                answer.errored.push((id, effect));
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap, HashSet};
    use std::str::FromStr;

    use cedar_policy::{Context, Entity, RestrictedExpression};

    use super::*;

    const RULES: &str = r#"
permit (principal, action, resource);
permit (principal == Agent::"a1", action, resource in Server::"s1");
forbid (principal in Group::"g", action, resource == Tool::"s1/t1");
forbid (principal is User, action, resource is Tool in Server::"s2");
permit (principal in User::"u1", action, resource in Tool::"s2/t2");
forbid (principal, action, resource) when { resource.server == "s3" };
forbid (principal == Agent::"a2", action, resource in Group::"nothing");
forbid (principal, action, resource) when { resource.name == "t9" };
permit (principal, action, resource in Server::"s2") when { resource.server == "s2" };
forbid (principal is User, action, resource) when { resource.server == "s1" && principal in Group::"g" };
permit (principal, action, resource) when { principal.nick == "bob" && resource.server == "s3" };
permit (principal, action, resource) when { Group::"g" has nick || Group::"g" in Group::"h" };
"#;

    fn uid(t: &str, id: &str) -> EntityUid {
        EntityUid::from_str(&format!("{t}::\"{id}\"")).unwrap()
    }

    /// Every satisfied policy, from one evaluation of the whole set.
    fn whole(set: &PolicySet, req: &Request, entities: &Entities) -> BTreeSet<String> {
        let r = Authorizer::new().is_authorized(req, set, entities);
        r.diagnostics().reason().map(ToString::to_string).collect()
    }

    #[test]
    fn buckets_answer_as_the_whole_set_does() {
        let set = PolicySet::from_str(RULES).unwrap();
        let mut indexed = IndexedPolicies::default();
        for p in set.policies() {
            indexed.add(p.clone(), &Reads::of(p)).unwrap();
        }
        let principals = [
            ("Agent", "a1"),
            ("Agent", "a2"),
            ("User", "u1"),
            ("User", "u2"),
            ("User", "bob"),
        ];
        let resources = [("s1", "t1"), ("s1", "t9"), ("s2", "t2"), ("s3", "t3")];
        let mut compared = 0;
        for (kind, id) in principals {
            for (server, tool) in resources {
                let p = uid(kind, id);
                let parents: HashSet<EntityUid> = if id == "u2" {
                    HashSet::from([uid("Group", "g")])
                } else {
                    HashSet::new()
                };
                let r = uid("Tool", &format!("{server}/{tool}"));
                let s = uid("Server", server);
                let attrs = HashMap::from([(
                    "server".to_owned(),
                    RestrictedExpression::new_string(server.to_owned()),
                )]);
                let nick = HashMap::from([(
                    "nick".to_owned(),
                    RestrictedExpression::new_string(id.to_owned()),
                )]);
                let entities = Entities::from_entities(
                    [
                        Entity::new(p.clone(), nick, parents).unwrap(),
                        Entity::new(r.clone(), attrs, HashSet::from([s.clone()])).unwrap(),
                        Entity::with_uid(s.clone()),
                        Entity::with_uid(uid("Group", "g")),
                    ],
                    None,
                )
                .unwrap();
                let req = Request::new(
                    p.clone(),
                    uid("Action", "call"),
                    r.clone(),
                    Context::empty(),
                    None,
                )
                .unwrap();
                let full = Authorizer::new().is_authorized(&req, &set, &entities);
                // Groups need not be entities of the store (moat leaves them out): they have no
                // attributes, and membership is the principal's ancestry.
                let without_groups = Entities::from_entities(
                    entities
                        .iter()
                        .filter(|e| e.uid().type_name().to_string() != "Group")
                        .cloned(),
                    None,
                )
                .unwrap();
                assert_eq!(
                    whole(&set, &req, &without_groups),
                    whole(&set, &req, &entities),
                    "{kind} {id} on {server}/{tool}"
                );
                let answer = ask_in_parts(&indexed, &req, &entities, (&p, kind), (&r, &s));
                let (want, got) = match full.decision() {
                    Decision::Deny => (whole(&set, &req, &entities), &answer.forbids),
                    Decision::Allow => (whole(&set, &req, &entities), &answer.permits),
                };
                let got: BTreeSet<String> = got.iter().map(ToString::to_string).collect();
                assert_eq!(got, want, "{kind} {id} on {server}/{tool}");
                assert_eq!(
                    full.decision() == Decision::Deny,
                    !answer.forbids.is_empty() || answer.permits.is_empty(),
                    "{kind} {id} on {server}/{tool}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 20);
    }

    /// The answer as a list gets it: the shape's and the target's policies, those for anyone
    /// and those for this principal, asked separately.
    fn ask_in_parts(
        indexed: &IndexedPolicies,
        req: &Request,
        entities: &Entities,
        (p, kind): (&EntityUid, &'static str),
        (resource, server): (&EntityUid, &EntityUid),
    ) -> Answer {
        let of = Of { resource, server };
        let mut answer = Answer::default();
        for who in [Who::Anyone, Who::Principal(p, kind)] {
            for part in [Part::Shape, Part::Identity] {
                let a = indexed.ask(&Authorizer::new(), req, entities, (who, of), part);
                answer.merge(&a);
            }
        }
        let all = [Who::Anyone, Who::Principal(p, kind)]
            .map(|who| indexed.ask(&Authorizer::new(), req, entities, (who, of), Part::All));
        let count = |a: &Answer| a.forbids.len() + a.permits.len() + a.errored.len();
        assert_eq!(count(&all[0]) + count(&all[1]), count(&answer));
        answer
    }
}
