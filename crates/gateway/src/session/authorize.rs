//! The authorization stage: an operation that names a tool, prompt or resource is decided by the
//! policy before it is routed, and only an [`Authorized`] request reaches dispatch. Lists are
//! filtered in dispatch with the same policy (`Policy::visible`).

use std::sync::Arc;

use moat_policy::{Action, Caller as PolicyCaller, Context, Decision, Hints, Kind, Target};
use moat_proto::{ErrorObject, Id, RawValue, Request, Response, codes, object_field};
use serde_json::{Value, json};

use super::Session;
use super::approval::{Held, Reseal};
use crate::auth::Caller;
use crate::events;
use crate::federation::lists::ListKind;

/// A request the authorization stage let through, with what it resolved on the way.
pub(crate) struct Authorized {
    pub(super) req: Request,
    /// The server and its own name for the target, when the policy had to resolve it.
    pub(super) target: Option<(usize, String)>,
    /// Who sent it (the current request's token, which may carry more scopes than the one that
    /// opened the session).
    pub(super) caller: Caller,
    /// Set when the policy holds the call for a human's approval (`Session::clear` asks).
    pub(super) held: Option<Held>,
    /// Set when a 2026-07-28 client's approval came through `inputResponses`: the server's
    /// own `input_required` answers are then sealed as approved.
    pub(super) reseal: Option<Reseal>,
}

/// A request that may be dispatched: authorized, and approved where it was held. Only
/// `Session::clear` makes one.
pub(crate) struct Cleared(pub(super) Authorized);

/// A request the policy refused: the JSON-RPC answer, and the scopes whose absence was the
/// reason (for the HTTP 403 challenge).
pub(crate) struct Refused {
    pub(crate) response: Response,
    pub(crate) missing_scopes: Vec<String>,
}

impl Session {
    /// Decides `req` for `caller`; without a policy everything passes untouched.
    pub(crate) async fn authorize(
        self: &Arc<Self>,
        req: Request,
        caller: Caller,
    ) -> Result<Authorized, Refused> {
        let pass = |req, target| {
            Ok(Authorized {
                req,
                target,
                caller: caller.clone(),
                held: None,
                reseal: None,
            })
        };
        let Some(policy) = self.gateway.policy.load_full() else {
            return pass(req, None);
        };
        let Some((kind, action, name)) = operation(&req.method, req.params.as_deref()) else {
            return pass(req, None);
        };
        // An unknown name is left to dispatch, which answers it as the spec says.
        let Some((idx, original)) = self.resolve(kind, &name).await else {
            return pass(req, None);
        };
        let server = self.names.server(idx);
        // Annotations matter only where they can change the decision.
        let hints = if kind == ListKind::Tools && policy.reads_hints(server) {
            self.hints_of(&name).await
        } else {
            Hints::default()
        };
        let arguments = object_field::<Value>(req.params.as_deref(), arguments_field(action))
            .unwrap_or_else(|| json!({}));
        let target = Target {
            server,
            kind: policy_kind(kind),
            name: &original,
            hints,
        };
        let who = policy_caller(caller.principal.as_deref());
        let ctx = Context {
            arguments: Some(&arguments),
            now_unix: now_unix(),
            source: caller.source,
            session: (self.mode == super::Mode::Stateful).then_some(&*self.id),
        };
        let decision = policy.decide(&who, action, &target, &ctx);
        events::decided(&self.id, &who, &req.method, &target, &decision);
        if decision.blocks() {
            return Err(refusal(req.id, decision));
        }
        let held = decision.holds().then(|| {
            let tool = original.clone();
            Held::new(
                server.to_owned(),
                tool,
                arguments,
                decision.rules,
                decision.reason,
            )
        });
        Ok(Authorized {
            req,
            target: Some((idx, original)),
            caller,
            held,
            reseal: None,
        })
    }

    /// A tool's announced annotations, listing the tools once if the name is new.
    async fn hints_of(self: &Arc<Self>, exposed: &str) -> Hints {
        if let Some(h) = self.hints.lock().get(exposed) {
            return *h;
        }
        let _ = self
            .list(ListKind::Tools, self.internal_params(), Id::Num(0), None)
            .await;
        self.hints.lock().get(exposed).copied().unwrap_or_default()
    }
}

/// The context a list is filtered in: no arguments (the call's are not known yet).
pub(super) fn list_context(caller: &Caller) -> Context<'static> {
    Context {
        arguments: None,
        now_unix: now_unix(),
        source: caller.source,
        session: None,
    }
}

/// The policy's view of an authenticated principal (anonymous when authentication is off).
pub(super) fn policy_caller(p: Option<&moat_identity::Principal>) -> PolicyCaller<'_> {
    match p {
        None => PolicyCaller::default(),
        Some(p) => PolicyCaller {
            agent: Some(p.agent()),
            user: p.user(),
            scopes: &p.scopes,
            groups: &p.groups,
        },
    }
}

/// What a method does to which named target; `None` for methods the policy does not decide
/// (lists are filtered instead; `ping`, `logging/setLevel`, unsubscribing need no grant).
fn operation(method: &str, params: Option<&RawValue>) -> Option<(ListKind, Action, String)> {
    let (kind, action, field) = match method {
        "tools/call" => (ListKind::Tools, Action::Call, "name"),
        "prompts/get" => (ListKind::Prompts, Action::Get, "name"),
        "resources/read" => (ListKind::Resources, Action::Read, "uri"),
        "resources/subscribe" => (ListKind::Resources, Action::Subscribe, "uri"),
        "completion/complete" => {
            let (kind, name) = completion_target(params)?;
            return Some((kind, Action::Complete, name));
        }
        _ => return None,
    };
    Some((kind, action, object_field(params, field)?))
}

/// The prompt or resource a `completion/complete` refers to, by its client-side name.
pub(super) fn completion_target(params: Option<&RawValue>) -> Option<(ListKind, String)> {
    let reference = object_field::<Value>(params, "ref")?;
    let (kind, field) = match reference.get("type").and_then(Value::as_str)? {
        "ref/prompt" => (ListKind::Prompts, "name"),
        "ref/resource" => (ListKind::Resources, "uri"),
        _ => return None,
    };
    Some((kind, reference.get(field)?.as_str()?.to_owned()))
}

fn arguments_field(action: Action) -> &'static str {
    match action {
        Action::Complete => "argument",
        _ => "arguments",
    }
}

pub(super) fn policy_kind(kind: ListKind) -> Kind {
    match kind {
        ListKind::Tools => Kind::Tool,
        ListKind::Prompts => Kind::Prompt,
        ListKind::Resources | ListKind::ResourceTemplates => Kind::Resource,
    }
}

pub(super) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The JSON-RPC error of a denial: a stable code, the reason, and the deciding rules.
fn refusal(id: Id, decision: Decision) -> Refused {
    let code = if decision.missing_scopes.is_empty() {
        codes::POLICY_DENIED
    } else {
        codes::INSUFFICIENT_SCOPE
    };
    let mut data = json!({ "rules": decision.rules, "reason": decision.reason });
    if !decision.missing_scopes.is_empty() {
        data["missing_scopes"] = json!(decision.missing_scopes);
    }
    let error = ErrorObject::new(code, format!("denied: {}", decision.reason)).with_data(data);
    Refused {
        response: Response::error(Some(id), &error),
        missing_scopes: decision.missing_scopes,
    }
}
