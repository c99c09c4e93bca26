//! The Streamable HTTP endpoint: POST for client messages, GET for the server's stream, DELETE to
//! end a session.

// Refusals are ready-made HTTP responses; boxing them would only move the allocation.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response as HttpResponse};
use http::{HeaderMap, HeaderValue, StatusCode};
use moat_proto::{Batch, Message, ParseError, Request, codes, parse_body};
use moat_upstream::CallOptions;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::guard::{accepts, protocol_version};
use super::reply::{Shape, answer, http_error, sse_body};
use super::stateless;
use crate::auth::Caller;
use crate::session::{Authorized, Outbox, Refused, Session};
use crate::state::GatewayState;

const SESSION_HEADER: &str = "mcp-session-id";

type Shared = State<Arc<GatewayState>>;

/// Finds the session a session-based request names, checking its protocol version header.
/// A session is found only for the caller that opened it: anyone else gets the same 404 as for
/// a session that does not exist (session-hijacking defence).
fn admit(
    state: &GatewayState,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<Option<Arc<Session>>, HttpResponse> {
    let version = protocol_version(headers)
        .map_err(|e| http_error(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, e))?;
    let Some(id) = headers.get(SESSION_HEADER) else {
        return Ok(None);
    };
    let session = id
        .to_str()
        .ok()
        .and_then(|id| state.sessions.get(id).map(|s| s.value().clone()))
        .filter(|s| caller.may_use(&s.owner));
    let Some(session) = session else {
        return Err(http_error(
            StatusCode::NOT_FOUND,
            codes::INVALID_REQUEST,
            "unknown or ended session",
        ));
    };
    session.touch();
    if version.is_some_and(|v| v != session.version) {
        let why = format!(
            "MCP-Protocol-Version does not match the session's negotiated {}",
            session.version
        );
        return Err(http_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            why,
        ));
    }
    Ok(Some(session))
}

pub(crate) async fn post(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let limit = state.config.load().max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        let why = format!("request body exceeds {limit} bytes");
        return http_error(StatusCode::PAYLOAD_TOO_LARGE, codes::INVALID_REQUEST, why);
    };
    let batch = match parse_body(&bytes) {
        Ok(b) => b,
        Err(e) => return http_error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    let sse_ok = accepts(&headers, "text/event-stream");
    if stateless::applies(&batch, &headers) {
        return stateless::post(&state, &headers, batch, sse_ok, caller).await;
    }
    let session = match admit(&state, &headers, &caller) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match (batch, session) {
        (Batch::Single(Message::Request(req)), _) if req.method == "initialize" => {
            initialize(state, req, sse_ok, caller).await
        }
        (_, None) => http_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            "missing Mcp-Session-Id header: initialize first",
        ),
        (Batch::Single(msg), Some(session)) => {
            handle(session, vec![Ok(msg)], false, sse_ok, caller).await
        }
        (Batch::Many(_), Some(session)) if !session.version.allows_batches() => http_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            format!(
                "JSON-RPC batches are not allowed in protocol version {}",
                session.version
            ),
        ),
        (Batch::Many(items), Some(session)) => handle(session, items, true, sse_ok, caller).await,
    }
}

async fn initialize(
    state: Arc<GatewayState>,
    req: Request,
    sse_ok: bool,
    caller: Caller,
) -> HttpResponse {
    let (session, result) = match Session::start(state.clone(), req.params.as_deref(), caller).await
    {
        Ok(ok) => ok,
        Err(e) => {
            let msg = Message::from(moat_proto::Response::error(Some(req.id), &e));
            return (
                StatusCode::OK,
                [(http::header::CONTENT_TYPE, "application/json")],
                msg.to_bytes(),
            )
                .into_response();
        }
    };
    let id = session.id.clone();
    state.sessions.insert(id.clone(), session);
    tracing::info!(session = %id, "session started");
    let result = serde_json::value::to_raw_value(&result).unwrap_or_default();
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = tx.send(moat_proto::Response::result(req.id, result).into());
    let mut resp = answer(rx, 1, false, sse_ok, Shape::JsonFirst(None)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(SESSION_HEADER, v);
    }
    resp
}

/// Runs one request in its own task: a batch's requests run concurrently. When the client stops
/// listening before the answer, the work is abandoned (and cancelled upstream).
pub(super) fn spawn_request(
    session: Arc<Session>,
    req: Request,
    caller: Caller,
    tx: Outbox,
    options: CallOptions,
) {
    tokio::spawn(async move {
        let work = async {
            match session.admit(req, caller).await {
                Ok(authorized) => Some(authorized),
                Err(refused) => {
                    let _ = tx.send(refused.response.into());
                    None
                }
            }
        };
        let authorized = tokio::select! {
            a = work => a,
            () = tx.closed() => None,
        };
        if let Some(authorized) = authorized {
            request_work(session, authorized, tx, options).await;
        }
    });
}

/// Runs a request the policy let through in its own task.
pub(super) fn spawn_authorized(
    session: Arc<Session>,
    authorized: Authorized,
    tx: Outbox,
    options: CallOptions,
) {
    tokio::spawn(request_work(session, authorized, tx, options));
}

/// The HTTP answer to a lone request a stage refused, where HTTP has its own word for it:
/// 403 with the challenge naming missing scopes (MCP step-up authorization), or 429 with
/// `Retry-After` for a rate limit. The JSON-RPC error is the body. `Err` gives the refusal back
/// for an answer in JSON-RPC alone.
pub(super) fn refused_over_http(
    state: &GatewayState,
    refused: Refused,
) -> Result<HttpResponse, Refused> {
    let status = if !refused.missing_scopes.is_empty() {
        StatusCode::FORBIDDEN
    } else if refused.retry_after.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        return Err(refused);
    };
    let mut resp = (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        Message::from(refused.response).to_bytes(),
    )
        .into_response();
    let headers = resp.headers_mut();
    if let Some(retry) = refused.retry_after {
        // Whole seconds, rounded up: a client that waits exactly this long will pass.
        let secs = retry.as_millis().div_ceil(1000).max(1);
        headers.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from(u64::try_from(secs).unwrap_or(u64::MAX)),
        );
    }
    if let Some(challenge) = state
        .auth
        .as_ref()
        .and_then(|a| a.scope_challenge(&refused.missing_scopes))
    {
        headers.insert(http::header::WWW_AUTHENTICATE, challenge);
    }
    Ok(resp)
}

/// One request's work — a human's approval first, where the policy held it — with its answer
/// to `tx`; it ends early, dropping the upstream call (which cancels it) or the wait for an
/// approval (which is then marked cancelled), when nobody listens on `tx` any more.
async fn request_work(
    session: Arc<Session>,
    authorized: Authorized,
    tx: Outbox,
    options: CallOptions,
) {
    let work = async {
        let cleared = match session.clear(authorized, &tx).await {
            Ok(cleared) => cleared,
            Err(refused) => return refused,
        };
        match session.mode {
            crate::session::Mode::Stateful => session.handle_request(cleared, &tx, &options).await,
            crate::session::Mode::Stateless => {
                session.handle_stateless(cleared, &tx, &options).await
            }
        }
    };
    tokio::select! {
        resp = work => {
            let _ = tx.send(resp.into());
        }
        () = tx.closed() => {}
    }
}

/// Notifications and responses are delivered and acknowledged with 202; requests are answered.
async fn handle(
    session: Arc<Session>,
    items: Vec<Result<Message, ParseError>>,
    batch: bool,
    sse_ok: bool,
    caller: Caller,
) -> HttpResponse {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut expected = 0;
    let mut only = None;
    for item in items {
        match item {
            Ok(Message::Request(req)) if !batch => {
                expected += 1;
                only = Some(req);
            }
            Ok(Message::Request(req)) => {
                expected += 1;
                let (caller, tx) = (caller.clone(), tx.clone());
                spawn_request(session.clone(), req, caller, tx, CallOptions::default());
            }
            Ok(Message::Notification(n)) => session.handle_notification(n),
            Ok(Message::Response(r)) => session.client_response(r),
            Err(e) => {
                expected += 1;
                let _ = tx.send(moat_proto::Response::error(None, &e.to_error_object()).into());
            }
        }
    }
    // A lone request is decided before its answer takes shape, so a refusal for missing scopes
    // can still be an HTTP 403.
    let work = match only {
        Some(req) => match session.admit(req, caller).await {
            Ok(authorized) => Some(request_work(
                session.clone(),
                authorized,
                tx,
                CallOptions::default(),
            )),
            Err(refused) => match refused_over_http(&session.gateway, refused) {
                Ok(resp) => return resp,
                Err(refused) => {
                    let _ = tx.send(refused.response.into());
                    None
                }
            },
        },
        None => {
            drop(tx);
            None
        }
    };
    if expected == 0 {
        return StatusCode::ACCEPTED.into_response();
    }
    let shape = if session.primes_streams() {
        Shape::Primed(&session.events)
    } else {
        Shape::JsonFirst(Some(&session.events))
    };
    let answering = answer(rx, expected, batch, sse_ok, shape);
    match work {
        Some(work) => answer_alongside(work, answering).await,
        None => answering.await,
    }
}

/// Runs a lone request's work in the handler's own task, which saves a task switch each way,
/// until the answer is shaped; work still going then (the answer became an event stream) goes on
/// in a task of its own, as a spawned request would.
async fn answer_alongside(
    work: impl Future<Output = ()> + Send + 'static,
    answering: impl Future<Output = HttpResponse>,
) -> HttpResponse {
    let mut work = Some(Box::pin(work));
    let mut answering = std::pin::pin!(answering);
    loop {
        let Some(running) = work.as_mut() else {
            return answering.await;
        };
        tokio::select! {
            biased;
            resp = &mut answering => {
                if let Some(rest) = work.take() {
                    tokio::spawn(rest);
                }
                return resp;
            }
            () = running => work = None,
        }
    }
}

pub(crate) async fn get(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> HttpResponse {
    let session = match admit(&state, &headers, &caller) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                codes::INVALID_REQUEST,
                "missing Mcp-Session-Id header",
            );
        }
        Err(r) => return r,
    };
    if !accepts(&headers, "text/event-stream") {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            codes::INVALID_REQUEST,
            "GET needs Accept: text/event-stream",
        );
    }
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    if let Some(frames) = last.and_then(|id| session.events.resume(id)) {
        return sse_body(UnboundedReceiverStream::new(frames));
    }
    if let Some(id) = last {
        tracing::debug!(session = %session.id, "cannot resume after event {id:?}; opening a new stream");
    }
    sse_body(UnboundedReceiverStream::new(session.open_get_stream()))
}

pub(crate) async fn delete(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> HttpResponse {
    match admit(&state, &headers, &caller) {
        Ok(Some(s)) => {
            state.sessions.remove(&s.id);
            tracing::info!(session = %s.id, "session ended by the client");
            StatusCode::OK.into_response()
        }
        Ok(None) => http_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            "missing Mcp-Session-Id header",
        ),
        Err(r) => r,
    }
}
