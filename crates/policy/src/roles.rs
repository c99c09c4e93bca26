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
            .find(|r| {
                let patterns = match target.kind {
                    Kind::Tool => &r.tools,
                    Kind::Prompt => &r.prompts,
                    Kind::Resource => &r.resources,
                };
                bound(r, holder) && patterns.iter().any(|p| matches(p, &key))
            })
            .map(|r| r.name.as_str())
    }
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
