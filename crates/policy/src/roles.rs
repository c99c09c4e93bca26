//! The role layer: named roles grant tools, prompts and resources to agents, users and groups.

use moat_config::RoleConfig;

use crate::pattern::matches;
use crate::request::{Kind, Target};

/// The roles, as configured.
#[derive(Debug, Clone)]
pub(crate) struct Roles(Vec<RoleConfig>);

/// Who a role is asked about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holder<'a> {
    Agent(&'a str),
    User(&'a str, &'a [String]),
}

impl Roles {
    pub(crate) fn new(roles: Vec<RoleConfig>) -> Option<Self> {
        (!roles.is_empty()).then_some(Self(roles))
    }

    /// The names of the roles `holder` has.
    pub(crate) fn of<'s>(&'s self, holder: Holder<'_>) -> impl Iterator<Item = &'s str> {
        self.0
            .iter()
            .filter(move |r| bound(r, holder))
            .map(|r| r.name.as_str())
    }

    /// The first role of `holder` that grants `target`.
    pub(crate) fn grant(&self, holder: Holder<'_>, target: &Target<'_>) -> Option<&str> {
        let key = format!("{}/{}", target.server, target.name);
        self.0
            .iter()
            .find(|r| bound(r, holder) && grants(r, target.kind, &key))
            .map(|r| r.name.as_str())
    }

    /// The roles bound to `holder`: a list asks which of them grants each entry, so who holds
    /// which role is worked out once per list.
    pub(crate) fn bound_to(&self, holder: Holder<'_>) -> BoundRoles<'_> {
        BoundRoles(self.0.iter().filter(|r| bound(r, holder)).collect())
    }
}

/// The roles of one holder.
#[derive(Debug)]
pub(crate) struct BoundRoles<'r>(Vec<&'r RoleConfig>);

impl BoundRoles<'_> {
    /// Whether one of them grants `target`.
    pub(crate) fn grant(&self, target: &Target<'_>) -> bool {
        let key = format!("{}/{}", target.server, target.name);
        self.0.iter().any(|r| grants(r, target.kind, &key))
    }
}

/// Whether `role` grants the `kind` of thing named `key` (`server/name`).
fn grants(role: &RoleConfig, kind: Kind, key: &str) -> bool {
    let patterns = match kind {
        Kind::Tool => &role.tools,
        Kind::Prompt => &role.prompts,
        Kind::Resource => &role.resources,
    };
    patterns.iter().any(|p| matches(p, key))
}

fn bound(role: &RoleConfig, holder: Holder<'_>) -> bool {
    let named = |list: &[String], id: &str| list.iter().any(|a| a == "*" || a == id);
    match holder {
        Holder::Agent(id) => named(&role.agents, id),
        Holder::User(id, groups) => {
            named(&role.users, id) || role.groups.iter().any(|g| groups.contains(g))
        }
    }
}
