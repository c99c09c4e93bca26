//! What a policy can look at, read from its JSON form once at load.
//!
//! Evaluating a policy costs about 1 µs in Cedar, and building the request's entities and
//! context more than that. Knowing what each policy reads lets a decision skip what no policy
//! can observe (an attribute nobody names, a context nobody reads), evaluate a policy that never
//! looks at the principal once for the agent and the user, and, when a list is filtered,
//! evaluate a policy that never looks at which tool it is once per kind of tool.
//!
//! Every answer errs toward "reads it": a policy whose JSON cannot be read reads everything.

use std::collections::HashSet;

use cedar_policy::{Policy, PrincipalConstraint, ResourceConstraint};
use serde_json::{Map, Value};

/// The attributes of a tool, prompt or resource that tell one from another of the same server,
/// label and hints.
const IDENTITY_ATTRS: [&str; 2] = ["name", "uri"];

/// The entity types that are targets: a literal of one reads the entity store, which holds only
/// the requested target, so its value depends on which target is asked about.
const TARGET_TYPES: [&str; 3] = ["Tool", "Prompt", "Resource"];

/// What one policy reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reads {
    /// Whether the policy depends on who the principal is (its scope or its conditions).
    pub(super) principal: bool,
    /// Whether it depends on which target it is asked about, beyond the target's server, kind,
    /// label and hints (its scope names a target, or it reads the name, the entity itself or a
    /// literal target).
    pub(super) identity: bool,
    /// Whether it uses the context as a whole (not only `context.x` or `context has x`).
    pub(super) whole_context: bool,
    /// Every attribute name it reads (`.x`, `has x`), on any entity or record.
    pub(super) attrs: HashSet<String>,
    /// Whether it may read attributes not in `attrs` (a policy that could not be read).
    pub(super) any_attr: bool,
}

impl Reads {
    /// Everything: for a policy that cannot be read.
    fn everything() -> Self {
        Self {
            principal: true,
            identity: true,
            whole_context: true,
            attrs: HashSet::new(),
            any_attr: true,
        }
    }

    /// What `policy` reads.
    pub(super) fn of(policy: &Policy) -> Self {
        let Ok(json) = policy.to_json() else {
            return Self::everything();
        };
        let Some(conditions) = json.get("conditions").and_then(Value::as_array) else {
            return Self::everything();
        };
        let mut reads = Self {
            principal: !matches!(policy.principal_constraint(), PrincipalConstraint::Any),
            identity: match policy.resource_constraint() {
                ResourceConstraint::Eq(_) => true,
                ResourceConstraint::In(uid) => is_target_type(&uid.type_name().to_string()),
                ResourceConstraint::Any
                | ResourceConstraint::Is(_)
                | ResourceConstraint::IsIn(_, _) => false,
            },
            whole_context: false,
            attrs: HashSet::new(),
            any_attr: false,
        };
        for condition in conditions {
            match condition.get("body") {
                Some(body) => reads.expr(body),
                None => return Self::everything(),
            }
        }
        reads
    }

    /// Walks one expression (Cedar's JSON form: an object with one key, the operator).
    fn expr(&mut self, e: &Value) {
        let Some(node) = e.as_object() else {
            return;
        };
        for (op, arg) in node {
            match op.as_str() {
                "Var" => self.var(arg.as_str(), None),
                "." | "has" => self.access(arg),
                "Value" => self.literal(arg),
                // Slots and unknowns stand for any value: assume the worst.
                "Slot" | "Unknown" => *self = Self::everything(),
                "Record" => {
                    // Keys of a record literal are names, not reads: only its values are walked.
                    if let Some(fields) = arg.as_object() {
                        fields.values().for_each(|v| self.expr(v));
                    }
                }
                _ => self.children(arg),
            }
        }
    }

    /// The operands of any other operator: fields of an object, items of an array.
    fn children(&mut self, arg: &Value) {
        match arg {
            Value::Object(fields) => fields.values().for_each(|v| self.expr(v)),
            Value::Array(items) => items.iter().for_each(|v| self.expr(v)),
            _ => {}
        }
    }

    /// `left.attr` or `left has attr` (`attr` may be a path: `has a.b`).
    fn access(&mut self, arg: &Value) {
        let Some(fields) = arg.as_object() else {
            return self.children(arg);
        };
        let names: Vec<&str> = match fields.get("attr") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(path)) => path.iter().filter_map(Value::as_str).collect(),
            _ => return self.children(arg),
        };
        self.attrs.extend(names.iter().map(|n| (*n).to_owned()));
        match fields.get("left") {
            Some(left) => match left.get("Var").and_then(Value::as_str) {
                Some(var) if left.as_object().is_some_and(|o| o.len() == 1) => {
                    self.var(Some(var), names.first().copied());
                }
                _ => self.expr(left),
            },
            None => self.children(arg),
        }
    }

    /// A variable, read whole (`attr: None`) or through one attribute.
    fn var(&mut self, var: Option<&str>, attr: Option<&str>) {
        match var {
            Some("principal") => self.principal = true,
            Some("resource") => {
                self.identity |= attr.is_none_or(|a| IDENTITY_ATTRS.contains(&a));
            }
            Some("context") => self.whole_context |= attr.is_none(),
            Some("action") => {}
            // A slot or anything new: assume the worst.
            _ => *self = Self::everything(),
        }
    }

    /// A literal value: an entity literal of a target type depends on the target asked about.
    fn literal(&mut self, v: &Value) {
        match v {
            Value::Object(fields) => {
                if let Some(entity) = fields.get("__entity").and_then(Value::as_object) {
                    self.identity |= entity_type(entity).is_none_or(is_target_type);
                }
                fields.values().for_each(|f| self.literal(f));
            }
            Value::Array(items) => items.iter().for_each(|i| self.literal(i)),
            _ => {}
        }
    }
}

fn entity_type(entity: &Map<String, Value>) -> Option<&str> {
    entity.get("type").and_then(Value::as_str)
}

fn is_target_type(t: &str) -> bool {
    TARGET_TYPES.contains(&t)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn reads(text: &str) -> Reads {
        Reads::of(&Policy::from_str(text).unwrap())
    }

    fn attrs(r: &Reads) -> Vec<&str> {
        let mut a: Vec<&str> = r.attrs.iter().map(String::as_str).collect();
        a.sort_unstable();
        a
    }

    #[test]
    fn a_policy_on_the_label_and_the_context_is_shared_by_principals_and_tools() {
        let r = reads(
            r#"forbid (principal, action, resource in Server::"s") when { context.hour == 3 && resource.label == "restricted" };"#,
        );
        assert!(!r.principal && !r.identity && !r.whole_context, "{r:?}");
        assert_eq!(attrs(&r), ["hour", "label"]);
    }

    #[test]
    fn the_principal_is_read_by_its_scope_or_its_conditions() {
        assert!(reads(r#"permit (principal == Agent::"a", action, resource);"#).principal);
        assert!(reads(r#"permit (principal is User, action, resource);"#).principal);
        let r = reads(
            r#"permit (principal, action, resource) when { principal.groups.contains("g") };"#,
        );
        assert!(r.principal && !r.identity, "{r:?}");
        assert!(
            reads(r#"permit (principal, action, resource) when { principal in Group::"g" };"#)
                .principal
        );
    }

    #[test]
    fn a_tool_is_told_apart_by_its_scope_its_name_or_itself() {
        for text in [
            r#"permit (principal, action, resource == Tool::"s/t");"#,
            r#"permit (principal, action, resource in Tool::"s/t");"#,
            r#"permit (principal, action, resource) when { resource.name like "t*" };"#,
            r#"permit (principal, action, resource) when { resource has name };"#,
            r#"permit (principal, action, resource is Resource) when { resource.uri == "u" };"#,
            r#"permit (principal, action, resource) when { resource == Tool::"s/t" };"#,
            r#"permit (principal, action, resource) when { Tool::"s/t".label == "public" };"#,
            r#"permit (principal, action, resource) when { [resource].contains(Tool::"s/t") };"#,
        ] {
            assert!(reads(text).identity, "{text}");
        }
        for text in [
            r#"permit (principal, action, resource is Tool in Server::"s");"#,
            r#"permit (principal, action, resource) when { resource.read_only && resource has destructive };"#,
            r#"permit (principal, action, resource) when { Server::"s".trusted };"#,
        ] {
            assert!(!reads(text).identity, "{text}");
        }
    }

    #[test]
    fn the_context_is_read_whole_only_when_used_as_a_value() {
        let r = reads(
            r#"forbid (principal, action, resource) when { context has arguments && context.arguments.amount > 5 };"#,
        );
        assert!(!r.whole_context, "{r:?}");
        assert_eq!(attrs(&r), ["amount", "arguments"]);
        let r = reads(r#"forbid (principal, action, resource) when { {c: context}.c.hour == 1 };"#);
        assert!(r.whole_context, "{r:?}");
        // Record keys are not reads.
        assert_eq!(attrs(&r), ["c", "hour"]);
    }
}
