//! Authorization: who may list and use which tools, prompts and resources.
//!
//! Three layers make one decision, deny by default:
//! - **scopes**: every tool, prompt and resource needs scopes (per tool in config, else the
//!   server's read or write scopes);
//! - **roles**: when roles are configured, something must be granted by a role bound to the
//!   agent, and to the user it acts for;
//! - **Cedar**: when policies are configured, they must permit and no `forbid` may apply.
//!
//! What the layers allow may still be **held** for a human's approval: calls to destructive
//! tools (as far as the server's annotations are believed), tools or servers configured so, and
//! calls matched by a Cedar `forbid` annotated `@require_approval`.
//!
//! An agent acting for a user gets the intersection: each layer is asked for both, so an agent
//! can never do for a user what the user could not do (confused-deputy protection).
//!
//! Everything here is pure: the policy is compiled from validated config and policy texts read at
//! the edge; a decision is a function of the request, time included.

mod approval;
mod cedar;
mod decision;
mod pattern;
mod policy;
mod request;
mod roles;
mod scopes;

pub use cedar::{CedarError, CedarSource, PolicyInfo};
pub use decision::{Decision, Verdict};
pub use pattern::{matches as matches_pattern, matches_tool};
pub use policy::{ListFilter, Policy, PolicyError};
pub use request::{Action, Caller, Context, Hints, Kind, Target};
