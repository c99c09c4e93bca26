//! What moat does with each client message: answer it, route it to the owning server, or fan it
//! out to all of them and merge.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use moat_policy::Target;
use moat_proto::{Id, Notification, RawValue, Request, Response, codes, object_field, with_field};
use moat_upstream::CallOptions;
use serde_json::{Value, json};

use super::authorize::{Authorized, Cleared, list_context, policy_caller, policy_kind};
use super::slot::moat_request_meta;
use super::{Mode, Outbox, Route, Session, error_response};
use crate::auth::Caller;
use crate::catalog::Standing;
use crate::federation::lists::{Cursor, Keep, ListKind, merge_filtered};

pub(super) fn raw(v: &Value) -> Box<RawValue> {
    // A `Value` always serialises.
    serde_json::value::to_raw_value(v).unwrap_or_default()
}

fn raw_str(s: &str) -> Box<RawValue> {
    raw(&Value::String(s.to_owned()))
}

impl Session {
    /// Answers one cleared client request (never fails: every problem becomes a JSON-RPC
    /// error).
    pub(crate) async fn handle_request(
        self: &Arc<Self>,
        cleared: Cleared,
        outbox: &Outbox,
        options: &CallOptions,
    ) -> Response {
        let target = cleared.0.target();
        let Cleared(Authorized { req, caller, .. }) = cleared;
        let Request {
            id, method, params, ..
        } = req;
        if let Some(kind) = ListKind::from_method(&method) {
            return self.list(kind, params, id, Some(&caller)).await;
        }
        match method.as_str() {
            "ping" => Response::result(id, raw(&json!({}))),
            "initialize" => error_response(
                id,
                codes::INVALID_REQUEST,
                "the session is already initialized",
            ),
            "tools/call" | "prompts/get" | "resources/read" => {
                let kind = match method.as_str() {
                    "tools/call" => ListKind::Tools,
                    "prompts/get" => ListKind::Prompts,
                    _ => ListKind::Resources,
                };
                // A task-augmented call answers with a task; its result comes from tasks/result.
                let augmented = object_field::<Value>(params.as_deref(), "task").is_some();
                let response = self
                    .by_name(kind, &method, params, id, target.clone(), outbox, options)
                    .await;
                if augmented && let Some(t) = &target {
                    self.remember_task(&response, t);
                }
                self.inspect(&method, target.as_ref(), response).await
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                let kind = ListKind::Resources;
                // Unsubscribing needs no grant, so admission does not read it: found here.
                let target = match object_field::<String>(params.as_deref(), "uri") {
                    Some(uri) if target.is_none() && method == "resources/unsubscribe" => {
                        self.resolve(kind, &uri).await
                    }
                    _ => target,
                };
                self.by_name(kind, &method, params, id, target, outbox, options)
                    .await
            }
            "completion/complete" => {
                let response = self.complete(params, id, target.clone(), outbox).await;
                self.inspect(&method, target.as_ref(), response).await
            }
            // The deferred result of a task-augmented call gets what the call's own result gets.
            "tasks/result" if self.slots.len() == 1 => {
                let task = object_field::<String>(params.as_deref(), "taskId");
                let call = task.and_then(|t| self.task_targets.lock().get(&t).cloned());
                let response = self
                    .forward_or_error(0, &method, params, id, outbox, options)
                    .await;
                self.inspect("tools/call", call.as_ref(), response).await
            }
            "logging/setLevel" => self.broadcast_request(&method, params, id, "logging").await,
            _ if self.slots.len() == 1 => {
                self.forward_or_error(0, &method, params, id, outbox, options)
                    .await
            }
            _ => error_response(
                id,
                codes::METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            ),
        }
    }

    /// Records which tool a task belongs to, from the task a task-augmented call answered with.
    fn remember_task(&self, response: &Response, target: &(usize, String)) {
        let task = object_field::<Value>(response.result.as_deref(), "task");
        let Some(id) = task
            .as_ref()
            .and_then(|t| t.get("taskId"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let mut tasks = self.task_targets.lock();
        // Bounded: a client that starts tasks without end cannot grow the map without end.
        if tasks.len() >= 10_000 {
            tasks.clear();
        }
        tasks.insert(id.to_owned(), target.clone());
    }

    /// Handles a client notification.
    pub(crate) fn handle_notification(&self, n: Notification) {
        match n.method.as_str() {
            "notifications/initialized" => {
                self.initialized.store(true, Ordering::Release);
                for live in self.slots.iter().filter_map(|s| s.current()) {
                    let version = live
                        .init
                        .get("protocolVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let _ = live.conn.notify(n.clone());
                    live.conn.set_protocol_version(version);
                    live.conn.open_listen_stream();
                }
            }
            "notifications/cancelled" => {
                let Some(target) = object_field::<Id>(n.params.as_deref(), "requestId") else {
                    return;
                };
                let Some((idx, upstream_id)) = self.routes.upstream_of(&target) else {
                    return;
                };
                let params = n
                    .params
                    .as_deref()
                    .and_then(|p| with_field(p, "requestId", &raw(&json!(upstream_id))));
                if let Some(live) = self.slots[idx].current() {
                    let _ = live
                        .conn
                        .notify(Notification::new(n.method.clone(), params));
                }
            }
            _ => {
                for live in self.slots.iter().filter_map(|s| s.current()) {
                    let _ = live.conn.notify(n.clone());
                }
            }
        }
    }

    /// Adapts a server's notification to the client's view of names, ids and tokens; `None`
    /// drops it.
    pub(super) fn rewrite_notification(
        &self,
        idx: usize,
        mut n: Notification,
        route: Option<&Route>,
    ) -> Option<Notification> {
        let params = n.params.as_deref();
        match n.method.as_str() {
            "notifications/resources/updated" => {
                let uri: String = object_field(params, "uri")?;
                n.params = with_field(params?, "uri", &raw_str(&self.names.expose_uri(idx, &uri)));
            }
            "notifications/cancelled" => {
                let upstream_id: Id = object_field(params, "requestId")?;
                let ours = self.routes.server_request_id(idx, &upstream_id)?;
                n.params = with_field(params?, "requestId", &raw(&json!(ours)));
            }
            "notifications/progress" => {
                if let Some(token) = route.and_then(|r| r.client_token.as_deref()) {
                    n.params = with_field(params?, "progressToken", token);
                }
            }
            _ => {}
        }
        if self.mode == Mode::Stateless
            && let Some(route) = route
        {
            n.params = tag_subscription(n.params, &route.downstream_id);
        }
        Some(n)
    }

    pub(super) async fn forward_or_error(
        self: &Arc<Self>,
        idx: usize,
        method: &str,
        params: Option<Box<RawValue>>,
        id: Id,
        outbox: &Outbox,
        options: &CallOptions,
    ) -> Response {
        match self
            .forward(idx, method, params, &id, outbox, options)
            .await
        {
            Ok(resp) => resp.with_id(id),
            Err(e) => Response::error(Some(id), &e.to_error_object()),
        }
    }

    /// Routes a call that names its target (`name`, or `uri` for resources) to the owning
    /// server, under the server's own name for it (`resolved`: what admission found).
    #[allow(clippy::too_many_arguments)]
    async fn by_name(
        self: &Arc<Self>,
        kind: ListKind,
        method: &str,
        params: Option<Box<RawValue>>,
        id: Id,
        resolved: Option<(usize, String)>,
        outbox: &Outbox,
        options: &CallOptions,
    ) -> Response {
        let field = if kind == ListKind::Resources {
            "uri"
        } else {
            "name"
        };
        let Some(name) = object_field::<String>(params.as_deref(), field) else {
            return error_response(
                id,
                codes::INVALID_PARAMS,
                format!("{method} needs params.{field}"),
            );
        };
        // Admission resolved the name already, and every stage judged that answer: it is the
        // only one used (a second lookup could find what the stages never saw).
        let Some((idx, original)) = resolved else {
            let (code, what) = match kind {
                ListKind::Tools => (codes::INVALID_PARAMS, "unknown tool"),
                ListKind::Prompts => (codes::INVALID_PARAMS, "unknown prompt"),
                _ => (codes::RESOURCE_NOT_FOUND, "resource not found"),
            };
            return error_response(id, code, format!("{what}: {name}"));
        };
        let params = match (params, original == name) {
            (Some(p), false) => with_field(&p, field, &raw_str(&original)),
            (p, _) => p,
        };
        self.forward_or_error(idx, method, params, id, outbox, options)
            .await
    }

    /// Which server owns a client-side name: by prefix, by the only unprefixed server, or by the
    /// names the unprefixed servers listed (listing them again once when the name is new).
    pub(super) async fn resolve(
        self: &Arc<Self>,
        kind: ListKind,
        name: &str,
    ) -> Option<(usize, String)> {
        let prefixed = if kind == ListKind::Resources {
            self.names.resolve_prefixed_uri(name)
        } else {
            self.names.resolve_prefixed(name)
        };
        if prefixed.is_some() {
            return prefixed;
        }
        let unprefixed: Vec<usize> = self.names.unprefixed().collect();
        match unprefixed.as_slice() {
            [] => return None,
            [only] => return Some((*only, name.to_owned())),
            _ => {}
        }
        let key = (kind, name.to_owned());
        if let Some(hit) = self.index.lock().get(&key).cloned() {
            return Some(hit);
        }
        let _ = self
            .list(kind, self.internal_params(), Id::Num(0), None)
            .await;
        self.index.lock().get(&key).cloned()
    }

    /// Params for requests moat makes on its own behalf (stateless servers need `_meta`).
    pub(super) fn internal_params(&self) -> Option<Box<RawValue>> {
        match self.mode {
            Mode::Stateful => None,
            Mode::Stateless => moat_request_meta(),
        }
    }

    /// A list method over all servers that offer it, merged, with a composite cursor. The
    /// client's params go to each server as they are, with that server's own cursor. For a
    /// `caller` under a policy, only what the caller may use is shown; moat's own listings
    /// (`caller` `None`) see everything.
    pub(super) async fn list(
        self: &Arc<Self>,
        kind: ListKind,
        params: Option<Box<RawValue>>,
        id: Id,
        caller: Option<&Caller>,
    ) -> Response {
        let method = kind.method();
        let targets: Vec<(usize, Option<String>)> =
            match object_field::<String>(params.as_deref(), "cursor") {
                Some(c) => match Cursor::decode(&c) {
                    Some(c) => {
                        c.0.into_iter()
                            .filter(|(i, _)| *i < self.slots.len())
                            .map(|(i, c)| (i, Some(c)))
                            .collect()
                    }
                    None => return error_response(id, codes::INVALID_PARAMS, "invalid cursor"),
                },
                None => (0..self.slots.len()).map(|i| (i, None)).collect(),
            };
        // Lists are answered in full on the response; nothing is streamed for them.
        let (sink, _) = tokio::sync::mpsc::unbounded_channel();
        let offered = std::sync::atomic::AtomicBool::new(false);
        let calls = targets.into_iter().map(|(idx, cursor)| {
            let sink = sink.clone();
            let params = match (cursor, &params) {
                (Some(c), Some(p)) => with_field(p, "cursor", &raw_str(&c)),
                (Some(c), None) => Some(raw(&json!({ "cursor": c }))),
                (None, p) => p.clone(),
            };
            let offered = &offered;
            async move {
                let live = self.slots[idx].live(self).await.ok()?;
                if !live.has_capability(kind.capability()) {
                    return None;
                }
                offered.store(true, Ordering::Relaxed);
                let resp = self
                    .forward(
                        idx,
                        method,
                        params,
                        &Id::Num(0),
                        &sink,
                        &CallOptions::default(),
                    )
                    .await;
                match resp {
                    Ok(Response {
                        result: Some(r), ..
                    }) => Some((idx, r)),
                    Ok(Response { error, .. }) => {
                        let error = error.map(|e| e.get().to_owned()).unwrap_or_default();
                        tracing::warn!(server = self.names.server(idx), "{method} failed: {error}");
                        None
                    }
                    Err(e) => {
                        tracing::warn!("{method}: {e}");
                        None
                    }
                }
            }
        });
        let pages: Vec<(usize, Box<RawValue>)> = futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect();
        if !offered.load(Ordering::Relaxed) {
            return error_response(
                id,
                codes::METHOD_NOT_FOUND,
                format!("method not found: no server offers {}", kind.capability()),
            );
        }
        let catalog = self.gateway.catalog.clone();
        let pinned = catalog.as_ref().zip(catalog_kind(kind));
        if let Some((catalog, pinned)) = pinned {
            for (idx, page) in &pages {
                let entries = list_entries(page, kind.key());
                catalog.observe(*idx, pinned, &entries).await;
            }
        }
        let policy = self.gateway.policy.load_full();
        // Tools' annotations and schemas are kept for the stages that judge their calls.
        let read_facts = policy.is_some() || self.gateway.keeps_tool_facts();
        let merged = {
            let callers = policy.as_ref().zip(caller).map(|(policy, caller)| {
                (
                    policy,
                    policy_caller(caller.principal.as_deref()),
                    list_context(caller),
                )
            });
            // One filter for the whole list: the caller's side of every decision is built
            // once, and entries Cedar cannot tell apart are decided once.
            let filter = callers
                .as_ref()
                .map(|(policy, who, ctx)| policy.list_filter(who, ctx));
            let keep = |idx: usize, name: &str, hints| {
                let approved = pinned.is_none_or(|(catalog, kind)| {
                    catalog.standing(idx, kind, name) == Standing::Approved
                });
                approved
                    && filter.as_ref().is_none_or(|filter| {
                        filter.visible(&Target {
                            server: self.names.server(idx),
                            kind: policy_kind(kind),
                            name,
                            hints,
                        })
                    })
            };
            let filtered = filter.is_some() || pinned.is_some();
            merge_filtered(
                kind,
                &self.names,
                pages,
                read_facts,
                filtered.then_some(&keep as Keep<'_>),
            )
        };
        for c in &merged.collisions {
            tracing::error!(session = %self.id, "{c}");
        }
        {
            let mut index = self.index.lock();
            let mut param_headers = self.param_headers.lock();
            let mut tools = self.tools.lock();
            for e in merged.entries {
                if kind == ListKind::Tools {
                    if read_facts {
                        let facts = super::ToolFacts {
                            hints: e.hints,
                            schema: e.input_schema,
                        };
                        tools.insert(e.exposed.clone(), facts);
                    }
                    param_headers.insert(e.exposed.clone(), e.param_headers);
                }
                index.insert((kind, e.exposed), (e.server, e.original));
            }
        }
        Response::result(id, merged.result)
    }

    /// `completion/complete` goes to the server of the prompt or resource it refers to.
    async fn complete(
        self: &Arc<Self>,
        params: Option<Box<RawValue>>,
        id: Id,
        resolved: Option<(usize, String)>,
        outbox: &Outbox,
    ) -> Response {
        let Some(mut reference) = object_field::<Value>(params.as_deref(), "ref") else {
            return error_response(
                id,
                codes::INVALID_PARAMS,
                "completion/complete needs params.ref",
            );
        };
        let field = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => "name",
            Some("ref/resource") => "uri",
            other => {
                return error_response(
                    id,
                    codes::INVALID_PARAMS,
                    format!("unknown completion ref type {other:?}"),
                );
            }
        };
        let Some(name) = reference
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return error_response(
                id,
                codes::INVALID_PARAMS,
                format!("params.ref needs {field}"),
            );
        };
        // As for calls: admission's resolution, never a second one.
        let Some((idx, original)) = resolved else {
            return error_response(
                id,
                codes::INVALID_PARAMS,
                format!("unknown completion target {name}"),
            );
        };
        reference[field] = json!(original);
        let params = params.and_then(|p| with_field(&p, "ref", &raw(&reference)));
        self.forward_or_error(
            idx,
            "completion/complete",
            params,
            id,
            outbox,
            &CallOptions::default(),
        )
        .await
    }

    /// Sends a request to every server with `capability`; succeeds when none fails.
    async fn broadcast_request(
        self: &Arc<Self>,
        method: &str,
        params: Option<Box<RawValue>>,
        id: Id,
        capability: &str,
    ) -> Response {
        let (sink, _) = tokio::sync::mpsc::unbounded_channel();
        let calls = self.slots.iter().map(|slot| {
            let (params, sink) = (params.clone(), sink.clone());
            async move {
                let live = slot.live(self).await.ok()?;
                if !live.has_capability(capability) {
                    return None;
                }
                let resp = self
                    .forward(
                        slot.idx,
                        method,
                        params,
                        &Id::Num(0),
                        &sink,
                        &CallOptions::default(),
                    )
                    .await;
                match resp {
                    Ok(r) if r.is_error() => Some(format!(
                        "{}: {}",
                        slot.cfg.name,
                        r.error.map(|e| e.get().to_owned()).unwrap_or_default()
                    )),
                    Ok(_) => None,
                    Err(e) => Some(e.to_string()),
                }
            }
        });
        let failures: Vec<String> = futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect();
        if failures.is_empty() {
            Response::result(id, raw(&json!({})))
        } else {
            error_response(
                id,
                codes::INTERNAL_ERROR,
                format!("{method} failed on: {}", failures.join("; ")),
            )
        }
    }
}

/// Points a stateless notification's `_meta` subscription id at the client's request id.
fn tag_subscription(params: Option<Box<RawValue>>, client_id: &Id) -> Option<Box<RawValue>> {
    let p = params?;
    let Some(mut meta) = object_field::<serde_json::Map<String, Value>>(Some(&p), "_meta") else {
        return Some(p);
    };
    if !meta.contains_key("io.modelcontextprotocol/subscriptionId") {
        return Some(p);
    }
    meta.insert(
        "io.modelcontextprotocol/subscriptionId".into(),
        json!(client_id),
    );
    with_field(&p, "_meta", &raw(&Value::Object(meta))).or(Some(p))
}

/// The catalog's kind for a list, when its entries are pinned (concrete resources are data,
/// not definitions, and are not).
pub(super) fn catalog_kind(kind: ListKind) -> Option<moat_catalog::Kind> {
    match kind {
        ListKind::Tools => Some(moat_catalog::Kind::Tool),
        ListKind::Prompts => Some(moat_catalog::Kind::Prompt),
        ListKind::ResourceTemplates => Some(moat_catalog::Kind::ResourceTemplate),
        ListKind::Resources => None,
    }
}

/// The entries of one server's list page, as it wrote them.
fn list_entries<'p>(page: &'p RawValue, key: &str) -> Vec<&'p RawValue> {
    serde_json::from_str::<HashMap<String, &RawValue>>(page.get())
        .ok()
        .and_then(|members| members.get(key).copied())
        .and_then(|list| serde_json::from_str(list.get()).ok())
        .unwrap_or_default()
}
