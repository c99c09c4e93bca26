//! The legacy HTTP+SSE transport (protocol 2024-11-05) for old clients: `GET /sse` opens an event
//! stream whose first `endpoint` event names where to POST; every answer comes on the stream.

use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response as HttpResponse};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use moat_proto::{Batch, Message, Request, Response, codes, parse_body};
use moat_upstream::CallOptions;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::guard::accepts;
use super::mcp::spawn_request;
use super::reply::{http_error, sse_body};
use crate::auth::Caller;
use crate::session::{Outbox, Session, error_response, frame};
use crate::state::GatewayState;

/// One legacy connection: its stream, and its session once the client has initialized.
pub(crate) struct LegacyClient {
    outbox: Outbox,
    /// Who opened the stream: only the same caller may post to it.
    owner: Caller,
    session: OnceLock<Arc<Session>>,
}

/// Removes the connection (and so its session and upstream sessions) when the stream closes.
struct Unregister {
    state: Arc<GatewayState>,
    id: Arc<str>,
}

impl Drop for Unregister {
    fn drop(&mut self) {
        self.state.legacy.remove(&self.id);
        tracing::info!(session = %self.id, "legacy SSE connection closed");
    }
}

pub(crate) async fn open(
    State(state): State<Arc<GatewayState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> HttpResponse {
    if !accepts(&headers, "text/event-stream") {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            codes::INVALID_REQUEST,
            "GET /sse needs Accept: text/event-stream",
        );
    }
    let id: Arc<str> = crate::session::new_session_id().into();
    let (tx, rx) = mpsc::unbounded_channel();
    state.legacy.insert(
        id.clone(),
        LegacyClient {
            outbox: tx,
            owner: caller,
            session: OnceLock::new(),
        },
    );
    tracing::info!(session = %id, "legacy SSE connection opened");
    let endpoint = Bytes::from(format!(
        "event: endpoint\ndata: /message?sessionId={id}\n\n"
    ));
    let unregister = Unregister {
        state: state.clone(),
        id,
    };
    let messages = UnboundedReceiverStream::new(rx).map(move |m: Message| {
        let _alive = &unregister;
        frame(None, &m.to_json())
    });
    sse_body(futures::stream::once(async { endpoint }).chain(messages))
}

#[derive(serde::Deserialize)]
pub(crate) struct Target {
    #[serde(rename = "sessionId")]
    session_id: String,
}

pub(crate) async fn post(
    State(state): State<Arc<GatewayState>>,
    Extension(caller): Extension<Caller>,
    Query(target): Query<Target>,
    body: Body,
) -> HttpResponse {
    let Some((outbox, session, owner)) = state
        .legacy
        .get(target.session_id.as_str())
        .filter(|c| caller.may_use(&c.owner))
        .map(|c| (c.outbox.clone(), c.session.get().cloned(), c.owner.clone()))
    else {
        return http_error(
            StatusCode::NOT_FOUND,
            codes::INVALID_REQUEST,
            "unknown or closed SSE session",
        );
    };
    let limit = state.config.load().max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::INVALID_REQUEST,
            format!("request body exceeds {limit} bytes"),
        );
    };
    let items = match parse_body(&bytes) {
        Ok(Batch::Single(m)) => vec![Ok(m)],
        Ok(Batch::Many(items)) => items,
        Err(e) => return http_error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    for item in items {
        match (item, &session) {
            (Ok(Message::Request(req)), _) if req.method == "initialize" => {
                tokio::spawn(initialize(
                    owner.clone(),
                    state.clone(),
                    target.session_id.clone(),
                    req,
                    outbox.clone(),
                ));
            }
            (Ok(Message::Request(req)), Some(s)) => spawn_request(
                s.clone(),
                req,
                caller.clone(),
                outbox.clone(),
                CallOptions::default(),
            ),
            (Ok(Message::Request(req)), None) => {
                let _ = outbox.send(
                    error_response(req.id, codes::INVALID_REQUEST, "initialize first").into(),
                );
            }
            (Ok(Message::Notification(n)), Some(s)) => s.handle_notification(n),
            (Ok(Message::Response(r)), Some(s)) => s.client_response(r),
            (Ok(_), None) => {}
            (Err(e), _) => {
                let _ = outbox.send(Response::error(None, &e.to_error_object()).into());
            }
        }
    }
    StatusCode::ACCEPTED.into_response()
}

async fn initialize(
    owner: Caller,
    state: Arc<GatewayState>,
    id: String,
    req: Request,
    outbox: Outbox,
) {
    let reply = match Session::start(state.clone(), req.params.as_deref(), owner).await {
        Ok((session, result)) => {
            session.attach_stream(outbox.clone());
            let stored = state
                .legacy
                .get(id.as_str())
                .map(|c| c.session.set(session).is_ok());
            if stored != Some(true) {
                let _ = outbox.send(
                    error_response(
                        req.id,
                        codes::INVALID_REQUEST,
                        "the connection is already initialized",
                    )
                    .into(),
                );
                return;
            }
            Response::result(
                req.id,
                serde_json::value::to_raw_value(&result).unwrap_or_default(),
            )
        }
        Err(e) => Response::error(Some(req.id), &e),
    };
    let _ = outbox.send(reply.into());
}
