//! Policies sorted by the principals and resources their scope can match, so a request is put
//! only to the policies that could apply to it.
//!
//! Cedar's authorizer evaluates every policy of a set (about 1 µs each), which makes a decision
//! grow with the policy count. A policy's scope (`principal == …`, `resource in …`) is a
//! necessary condition, so each policy goes to the one bucket its scope needs, and a request
//! evaluates the few buckets its principal and resource select; the answers combine exactly as
//! one evaluation of all policies would (any satisfied forbid denies, else any permit allows).

use std::collections::HashMap;

use cedar_policy::{
    Authorizer, Decision, Effect, Entities, EntityUid, Policy, PolicyId, PolicySet,
    PrincipalConstraint, Request, ResourceConstraint,
};

/// The principals a policy's scope can match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PrincipalKey {
    Any,
    /// Exactly this entity (agents and users have no descendants).
    Uid(EntityUid),
    /// Entities of this type.
    Type(String),
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

fn principal_key(c: PrincipalConstraint) -> PrincipalKey {
    match c {
        PrincipalConstraint::Any => PrincipalKey::Any,
        PrincipalConstraint::Eq(uid) => PrincipalKey::Uid(uid),
        PrincipalConstraint::Is(t) | PrincipalConstraint::IsIn(t, _) => {
            PrincipalKey::Type(t.to_string())
        }
        PrincipalConstraint::In(uid) => match uid.type_name().to_string().as_str() {
            "Agent" | "User" => PrincipalKey::Uid(uid),
            // Only users are members of groups.
            "Group" => PrincipalKey::Type("User".into()),
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

/// A policy set split by scope.
#[derive(Debug, Default)]
pub(super) struct IndexedPolicies {
    buckets: HashMap<(PrincipalKey, ResourceKey), PolicySet>,
    effects: HashMap<PolicyId, Effect>,
}

/// What the policies that could apply said.
#[derive(Debug, Default)]
pub(super) struct Answer {
    /// Satisfied forbids.
    pub(super) forbids: Vec<PolicyId>,
    /// Satisfied permits.
    pub(super) permits: Vec<PolicyId>,
    /// Policies whose evaluation failed, with their effect.
    pub(super) errored: Vec<(PolicyId, Effect)>,
}

impl IndexedPolicies {
    /// Adds a policy; the error is Cedar's reason (a duplicate id, say).
    pub(super) fn add(&mut self, policy: Policy) -> Result<(), String> {
        let key = (
            principal_key(policy.principal_constraint()),
            resource_key(policy.resource_constraint()),
        );
        self.effects.insert(policy.id().clone(), policy.effect());
        self.buckets
            .entry(key)
            .or_default()
            .add(policy)
            .map_err(|e| e.to_string())
    }

    /// Puts `request` to every bucket its principal (`principal_type`) and its resource (of
    /// `server`) can be in.
    pub(super) fn ask(
        &self,
        authorizer: &Authorizer,
        request: &Request,
        entities: &Entities,
        (principal, principal_type): (&EntityUid, &str),
        (resource, server): (&EntityUid, &EntityUid),
    ) -> Answer {
        let principals = [
            PrincipalKey::Any,
            PrincipalKey::Uid(principal.clone()),
            PrincipalKey::Type(principal_type.to_owned()),
        ];
        let resources = [
            ResourceKey::Any,
            ResourceKey::Uid(resource.clone()),
            ResourceKey::Server(server.clone()),
        ];
        let mut answer = Answer::default();
        for p in &principals {
            for r in &resources {
                let Some(set) = self.buckets.get(&(p.clone(), r.clone())) else {
                    continue;
                };
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
            indexed.add(p.clone()).unwrap();
        }
        let principals = [
            ("Agent", "a1"),
            ("Agent", "a2"),
            ("User", "u1"),
            ("User", "u2"),
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
                let entities = Entities::from_entities(
                    [
                        Entity::new(p.clone(), HashMap::new(), parents).unwrap(),
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
                let answer = indexed.ask(&Authorizer::new(), &req, &entities, (&p, kind), (&r, &s));
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
        assert_eq!(compared, 16);
    }
}
