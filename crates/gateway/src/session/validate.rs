//! The validation stage: what a call carries is bounded (`limits.arguments`: depth, string
//! length, count) and a tool's arguments are held to the `inputSchema` its server listed
//! (`guard.schema`; `guard.strict` also refuses undeclared properties). A schema is compiled
//! once per distinct text and shared by every session. A call that breaks its schema gets a
//! tool error (`isError: true`) listing the violations, as the spec asks, so the model can fix
//! the call; one over a size limit gets -32602.

use std::collections::HashMap;
use std::sync::Arc;

use moat_config::SchemaMode;
use moat_guard::ArgumentSchema;
use moat_proto::{ErrorObject, Response, codes};
use parking_lot::Mutex;
use serde_json::json;

use super::dispatch::raw;
use super::{Authorized, Refused, Session};
use crate::events;
use crate::federation::lists::ListKind;

/// Compiled schemas by their text; a schema that does not compile is remembered with its error.
#[derive(Default)]
pub(crate) struct SchemaCache(Mutex<HashMap<Arc<str>, Compiled>>);

pub(super) type Compiled = Result<Arc<ArgumentSchema>, Arc<str>>;

/// Beyond this many distinct schemas the cache starts over (a server that changes its schemas
/// on every listing cannot grow it without bound).
const MAX_SCHEMAS: usize = 10_000;

impl SchemaCache {
    pub(super) fn get(&self, text: &Arc<str>) -> Compiled {
        if let Some(hit) = self.0.lock().get(text) {
            return hit.clone();
        }
        // Compiled outside the lock: a large schema must not stall every other call.
        let compiled = serde_json::from_str(text)
            .map_err(|e| format!("the tool's inputSchema is not JSON: {e}"))
            .and_then(|v| ArgumentSchema::compile(&v).map_err(|e| e.to_string()))
            .map(Arc::new)
            .map_err(Arc::from);
        let mut cache = self.0.lock();
        if cache.len() >= MAX_SCHEMAS {
            cache.clear();
        }
        cache.insert(text.clone(), compiled.clone());
        compiled
    }
}

impl Session {
    pub(super) async fn validate(self: &Arc<Self>, authorized: &Authorized) -> Result<(), Refused> {
        let Some(op) = &authorized.op else {
            return Ok(());
        };
        let Some((idx, original)) = &op.target else {
            return Ok(());
        };
        let server = self.names.server(*idx);
        let id = &authorized.req.id;
        let config = self.gateway.config.load();
        if let Err(v) = config.limits.arguments.check(&op.arguments) {
            events::invalid_arguments(&self.id, server, original, "limits", v.kind(), true);
            let error = ErrorObject::new(codes::INVALID_PARAMS, format!("invalid arguments: {v}"))
                .with_data(json!({ "limit": v.kind() }));
            return Err(Refused::answer(Response::error(Some(id.clone()), &error)));
        }
        let mode = config.guard.schema;
        if op.kind != ListKind::Tools || mode == SchemaMode::Off {
            return Ok(());
        }
        // A tool no listing shows cannot be checked: under `enforce` it is unknown, as the spec
        // answers an unknown tool (with one server every name resolves, so dispatch would not).
        // A server that cannot be reached is left to dispatch, which fails with its reason:
        // nothing reaches that server either way.
        let Some(known) = self.facts_of(op).await else {
            if mode == SchemaMode::Log || self.slots[*idx].live(self).await.is_err() {
                return Ok(());
            }
            let error =
                ErrorObject::new(codes::INVALID_PARAMS, format!("unknown tool: {}", op.name));
            return Err(Refused::answer(Response::error(Some(id.clone()), &error)));
        };
        let violations = match &known.schema {
            None => {
                vec!["the tool lists no inputSchema, so its arguments cannot be checked".to_owned()]
            }
            Some(Err(why)) => vec![why.to_string()],
            Some(Ok(schema)) => {
                let strict = config
                    .guard
                    .strict
                    .iter()
                    .any(|p| moat_policy::matches_tool(p, server, original));
                schema
                    .check(&op.arguments, strict)
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            }
        };
        if violations.is_empty() {
            return Ok(());
        }
        let enforced = mode == SchemaMode::Enforce;
        events::invalid_arguments(
            &self.id,
            server,
            original,
            "schema",
            &violations.join("; "),
            enforced,
        );
        if !enforced {
            return Ok(());
        }
        let text = format!(
            "moat refused the call: the arguments do not match the inputSchema of tool {}:\n- {}",
            op.name,
            violations.join("\n- ")
        );
        let result = json!({
            "content": [{"type": "text", "text": text}],
            "isError": true,
            "_meta": {"moat/violations": violations},
        });
        Err(Refused::answer(Response::result(id.clone(), raw(&result))))
    }
}
