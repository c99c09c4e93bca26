//! The authorization stage: an operation that names a tool, prompt or resource is decided by the
//! policy before it is routed, and only an [`Authorized`] request reaches dispatch. Lists are
//! filtered in dispatch with the same policy (`Policy::visible`).

use std::sync::Arc;

use moat_policy::{Action, Caller as PolicyCaller, Context, Decision, Hints, Kind, Target};
use moat_proto::{ErrorObject, Id, RawValue, Request, Response, codes, object_field};
use serde_json::{Value, json};

use super::approval::{Held, Reseal};
use super::{Session, ToolFacts};
use crate::auth::Caller;
use crate::events;
use crate::federation::lists::ListKind;

/// A request the authorization stage let through, with what it resolved on the way.
pub(crate) struct Authorized {
    pub(super) req: Request,
    /// What the request does to which target, for methods that name one.
    pub(super) op: Option<Operation>,
    /// Who sent it (the current request's token, which may carry more scopes than the one that
    /// opened the session).
    pub(super) caller: Caller,
    /// Set when the policy holds the call for a human's approval (`Session::clear` asks).
    pub(super) held: Option<Held>,
    /// Set when a 2026-07-28 client's approval came through `inputResponses`: the server's
    /// own `input_required` answers are then sealed as approved.
    pub(super) reseal: Option<Reseal>,
}

impl Authorized {
    /// The server and its own name for the target, when one was found.
    pub(super) fn target(&self) -> Option<(usize, String)> {
        self.op.as_ref().and_then(|op| op.target.clone())
    }
}

/// What a request does to which named target: read once, used by every request-side stage.
pub(crate) struct Operation {
    pub(super) kind: ListKind,
    pub(super) action: Action,
    /// The name (or URI) the client used.
    pub(super) name: String,
    /// The server and its own name for the target; `None` when no server has it (dispatch then
    /// answers as the spec says).
    pub(super) target: Option<(usize, String)>,
    /// The call's arguments (`{}` when it sent none).
    pub(super) arguments: Value,
    /// What the tool's listing said of it, read at most once per request (`Session::facts_of`).
    known: tokio::sync::OnceCell<Option<Known>>,
}

/// What a listing said of a tool, as the stages use it.
pub(super) struct Known {
    pub(super) hints: Hints,
    /// The compiled `inputSchema` (or why it does not compile); `None` when none is listed.
    pub(super) schema: Option<super::validate::Compiled>,
}

/// A request that may be dispatched: authorized, and approved where it was held. Only
/// `Session::clear` makes one.
pub(crate) struct Cleared(pub(super) Authorized);

/// A request a stage refused: the answer, and what HTTP should make of it.
pub(crate) struct Refused {
    pub(crate) response: Response,
    /// Scopes whose absence was the reason (an HTTP 403 with the step-up challenge).
    pub(crate) missing_scopes: Vec<String>,
    /// Set when a rate limit refused it: an HTTP 429 with `Retry-After`.
    pub(crate) retry_after: Option<std::time::Duration>,
}

impl Refused {
    /// A refusal answered in JSON-RPC alone.
    pub(crate) fn answer(response: Response) -> Self {
        Self {
            response,
            missing_scopes: Vec::new(),
            retry_after: None,
        }
    }
}

impl Session {
    /// Reads what `req` does to which target, resolving the target's server.
    pub(super) async fn operation(self: &Arc<Self>, req: &Request) -> Option<Operation> {
        let (kind, action, name) = operation(&req.method, req.params.as_deref())?;
        let target = self.resolve(kind, &name).await;
        let arguments = object_field::<Value>(req.params.as_deref(), arguments_field(action))
            .unwrap_or_else(|| json!({}));
        Some(Operation {
            kind,
            action,
            name,
            target,
            arguments,
            known: tokio::sync::OnceCell::new(),
        })
    }

    /// Decides `req` for `caller`; without a policy everything passes untouched.
    pub(super) async fn authorize(
        self: &Arc<Self>,
        req: Request,
        op: Option<Operation>,
        caller: Caller,
    ) -> Result<Authorized, Refused> {
        let mut authorized = Authorized {
            req,
            op,
            caller,
            held: None,
            reseal: None,
        };
        let Some(policy) = self.gateway.policy.load_full() else {
            return Ok(authorized);
        };
        // An unknown target is left to dispatch, which answers it as the spec says.
        let Some(op) = &authorized.op else {
            return Ok(authorized);
        };
        let Some((idx, original)) = &op.target else {
            return Ok(authorized);
        };
        let server = self.names.server(*idx);
        // Annotations matter only where they can change the decision.
        let hints = if op.kind == ListKind::Tools && policy.reads_hints(server) {
            self.facts_of(op).await.map(|k| k.hints).unwrap_or_default()
        } else {
            Hints::default()
        };
        let target = Target {
            server,
            kind: policy_kind(op.kind),
            name: original,
            hints,
        };
        let who = policy_caller(authorized.caller.principal.as_deref());
        let ctx = Context {
            arguments: Some(&op.arguments),
            now_unix: now_unix(),
            source: authorized.caller.source,
            session: (self.mode == super::Mode::Stateful).then_some(&*self.id),
        };
        let decision = policy.decide(&who, op.action, &target, &ctx);
        events::decided(&self.id, &who, &authorized.req.method, &target, &decision);
        if decision.blocks() {
            return Err(refusal(authorized.req.id, decision));
        }
        if decision.holds() {
            authorized.held = Some(Held::new(
                server.to_owned(),
                original.clone(),
                op.arguments.clone(),
                decision.rules,
                decision.reason,
            ));
        }
        Ok(authorized)
    }

    /// What the listing said of `op`'s tool, its schema compiled: found once per request, however
    /// many stages ask.
    pub(super) async fn facts_of<'o>(self: &Arc<Self>, op: &'o Operation) -> Option<&'o Known> {
        op.known
            .get_or_init(|| async {
                let facts = self.tool_facts(&op.name).await?;
                Some(Known {
                    hints: facts.hints,
                    schema: facts.schema.map(|text| self.gateway.schemas.get(&text)),
                })
            })
            .await
            .as_ref()
    }

    /// What a tool's listing said of it, listing the tools (every page, up to a bound) when
    /// the name is new.
    async fn tool_facts(self: &Arc<Self>, exposed: &str) -> Option<ToolFacts> {
        /// Pages read to find one tool: enough for any real server, bounded for a hostile one.
        const MAX_PAGES: usize = 50;
        if let Some(f) = self.tools.lock().get(exposed) {
            return Some(f.clone());
        }
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = self.internal_params();
            if let Some(c) = &cursor {
                let c = super::dispatch::raw(&Value::String(c.clone()));
                params = match params {
                    Some(p) => moat_proto::with_field(&p, "cursor", &c),
                    None => Some(super::dispatch::raw(&json!({ "cursor": cursor }))),
                };
            }
            let page = self.list(ListKind::Tools, params, Id::Num(0), None).await;
            if let Some(f) = self.tools.lock().get(exposed) {
                return Some(f.clone());
            }
            cursor = object_field::<String>(page.result.as_deref(), "nextCursor");
            if cursor.is_none() {
                break;
            }
        }
        None
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
        retry_after: None,
    }
}
