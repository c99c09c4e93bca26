//! Filtering a list: the caller's side of the requests is built once for the list, and the
//! policies that cannot tell one entry from another of the same shape (server, kind, label,
//! hints) are asked once per shape; only the policies that can (per-tool rules, rules on the
//! name) are asked per entry, and only when the entry has some.

use std::cell::RefCell;
use std::collections::HashMap;

use cedar_policy::Effect;
use moat_config::ServerPolicy;

use super::index::{Answer, Of, Part, Who};
use super::query::{CallerSide, Query, TargetSide, label_of, target_uids, tool_hints};
use super::{CedarPrincipal, CedarRules};
use crate::request::{Action, Context, Kind, Target};

/// What the policies that do not look at a target's identity can see of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    server: String,
    kind: Kind,
    label: &'static str,
    hints: Option<(bool, bool)>,
}

impl Shape {
    fn of(target: &Target<'_>, server: &ServerPolicy) -> Self {
        Self {
            server: target.server.to_owned(),
            kind: target.kind,
            label: label_of(server, target),
            hints: tool_hints(target, server),
        }
    }
}

/// The Cedar side of a list filter, for one caller and context.
pub(crate) struct CedarList<'r> {
    rules: &'r CedarRules,
    /// `None` when the caller could not be put to Cedar: then nothing is shown.
    caller: Option<CallerSide>,
    /// Per shape, what its policies answered: for anyone, then for each principal.
    shapes: RefCell<HashMap<Shape, Vec<Answer>>>,
}

impl<'r> CedarList<'r> {
    pub(crate) fn new(
        rules: &'r CedarRules,
        whos: &[CedarPrincipal<'_>],
        ctx: &Context<'_>,
    ) -> Self {
        Self {
            rules,
            caller: CallerSide::new(whos, ctx, rules.needs()),
            shapes: RefCell::default(),
        }
    }

    /// Whether `target` could be permitted for some arguments, to every principal: asked
    /// without arguments, a permit that needs them errors and counts as "maybe"; a forbid that
    /// applies regardless hides the target.
    pub(crate) fn may_use(&self, target: &Target<'_>, server: &ServerPolicy) -> bool {
        let Some(caller) = &self.caller else {
            return false;
        };
        let Some((resource, server_uid)) = target_uids(target) else {
            return false;
        };
        let of = Of {
            resource: &resource,
            server: &server_uid,
        };
        let shape = Shape::of(target, server);
        // Built at most once per entry, and only when some policy must see this entry.
        let mut query: Option<Query> = None;
        let built = |q: &mut Option<Query>| -> bool {
            if q.is_none() {
                let action = Action::use_of(target.kind);
                *q = TargetSide::new(target, server, self.rules.needs())
                    .and_then(|t| Query::new(caller, action, t));
            }
            q.is_some()
        };
        if !self.shapes.borrow().contains_key(&shape) {
            if !built(&mut query) {
                return false;
            }
            let answers = self.answers(caller, query.as_ref(), Part::Shape);
            self.shapes.borrow_mut().insert(shape.clone(), answers);
        }
        let enforced = self.rules.enforced();
        let whos = std::iter::once(Who::Anyone).chain((0..caller.len()).map(|i| caller.who(i)));
        let identity = whos
            .into_iter()
            .any(|who| !enforced.sets(who, of, Part::Identity).is_empty());
        let exact = if identity {
            if !built(&mut query) {
                return false;
            }
            self.answers(caller, query.as_ref(), Part::Identity)
        } else {
            vec![Answer::default(); caller.len() + 1]
        };
        let shapes = self.shapes.borrow();
        let Some(shaped) = shapes.get(&shape) else {
            return false;
        };
        (1..=caller.len()).all(|i| shows(&[&shaped[0], &shaped[i], &exact[0], &exact[i]]))
    }

    /// What the enforced policies of `part` answer: for anyone, then for each principal.
    fn answers(&self, caller: &CallerSide, query: Option<&Query>, part: Part) -> Vec<Answer> {
        let Some(query) = query else {
            return vec![Answer::default(); caller.len() + 1];
        };
        let (authorizer, enforced) = (self.rules.authorizer(), self.rules.enforced());
        std::iter::once((Who::Anyone, 0))
            .chain((0..caller.len()).map(|i| (caller.who(i), i)))
            .map(|asked| query.ask(authorizer, enforced, asked, part))
            .collect()
    }
}

/// Whether the answers for one principal show the entry: no forbid applies, and a permit does
/// or could (it needs the arguments).
fn shows(answers: &[&Answer]) -> bool {
    answers.iter().all(|a| a.forbids.is_empty())
        && answers
            .iter()
            .any(|a| !a.permits.is_empty() || a.errored.iter().any(|(_, e)| *e == Effect::Permit))
}
