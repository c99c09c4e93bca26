//! POSTs of MCP 2026-07-28 (stateless) clients: no session, every request checked on its own.

use std::sync::Arc;

use axum::response::{IntoResponse, Response as HttpResponse};
use http::{HeaderMap, StatusCode};
use moat_proto::{Batch, Message, codes, object_field};
use serde_json::Value;
use tokio::sync::mpsc;

use super::mcp::{refused_over_http, spawn_authorized};
use super::reply::{Shape, answer, http_error};
use crate::auth::Caller;
use crate::session::{RoutingHeaders, Session};
use crate::state::GatewayState;

/// Whether a POST is stateless: it says 2026-07-28 in its header, or its request carries the
/// per-request `_meta` version that only stateless clients send.
pub(super) fn applies(batch: &Batch, headers: &HeaderMap) -> bool {
    let header = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    if header
        .and_then(|h| h.trim().parse::<moat_proto::ProtocolVersion>().ok())
        .is_some_and(|v| v.is_stateless())
    {
        return true;
    }
    let Batch::Single(Message::Request(r)) = batch else {
        return false;
    };
    object_field::<Value>(r.params.as_deref(), "_meta")
        .is_some_and(|m| m.get("io.modelcontextprotocol/protocolVersion").is_some())
}

pub(super) async fn post(
    state: &Arc<GatewayState>,
    headers: &HeaderMap,
    batch: Batch,
    sse_ok: bool,
    caller: Caller,
) -> HttpResponse {
    let req = match batch {
        Batch::Single(Message::Request(req)) => req,
        // Nothing for moat to do: there are no server requests to answer and no session to notify.
        Batch::Single(_) => return StatusCode::ACCEPTED.into_response(),
        Batch::Many(_) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                codes::INVALID_REQUEST,
                "JSON-RPC batches are not part of MCP 2026-07-28",
            );
        }
    };
    let session = state
        .stateless
        .get_or_init(|| Session::stateless(state.clone()))
        .clone();
    let options = match session
        .check_stateless(&req, &RoutingHeaders::from_http(headers))
        .await
    {
        Ok(options) => options,
        Err(refusal) => {
            let body = Message::from(refusal).to_bytes();
            return (
                StatusCode::BAD_REQUEST,
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    match session.admit(req, caller).await {
        Ok(authorized) => spawn_authorized(session, authorized, tx, options),
        Err(refused) => match refused_over_http(state, refused) {
            Ok(resp) => return resp,
            Err(refused) => {
                let _ = tx.send(refused.response.into());
            }
        },
    }
    answer(rx, 1, false, sse_ok, Shape::Stateless).await
}
