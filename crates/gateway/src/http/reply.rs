//! Turning what a session produces into HTTP responses: a JSON body when the answer is all there
//! is, an SSE stream when the server has more to say first.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::{Stream, StreamExt};
use http::{HeaderValue, StatusCode, header};
use moat_proto::{ErrorObject, Message, Response};
use tokio::sync::mpsc;

/// An HTTP error carrying a JSON-RPC error body with a null id.
pub(crate) fn http_error(
    status: StatusCode,
    code: i32,
    message: impl Into<String>,
) -> HttpResponse {
    let body = Message::from(Response::error(None, &ErrorObject::new(code, message))).to_bytes();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn json(body: Vec<u8>) -> HttpResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn event(msg: &Message) -> Result<Event, Infallible> {
    Ok(Event::default().event("message").data(msg.to_json()))
}

/// Server-sent events from a stream of messages, with keep-alive comments.
pub(crate) fn sse(stream: impl Stream<Item = Message> + Send + 'static) -> HttpResponse {
    Sse::new(stream.map(|m| event(&m)))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Collects the answers to `expected` requests from `rx`. While only responses arrive they are
/// returned as JSON (an array for a batch); the first other message (progress, logging, a server
/// request) switches to an SSE stream that ends after the last response. `status` gives a single
/// JSON answer its HTTP status (stateless errors are not all 200).
pub(crate) async fn answer(
    mut rx: mpsc::UnboundedReceiver<Message>,
    expected: usize,
    batch: bool,
    sse_ok: bool,
    status: fn(&Message) -> StatusCode,
) -> HttpResponse {
    let mut done = Vec::with_capacity(expected);
    while done.len() < expected {
        let Some(msg) = rx.recv().await else { break };
        if matches!(msg, Message::Response(_)) {
            done.push(msg);
        } else if sse_ok {
            return stream_rest(done, msg, rx, expected);
        } else {
            tracing::debug!(
                "client does not accept SSE; dropped a {:?} message",
                msg.method()
            );
        }
    }
    if batch {
        let items: Vec<&Message> = done.iter().collect();
        json(serde_json::to_vec(&items).unwrap_or_default())
    } else {
        match done.first() {
            Some(m) => {
                let mut resp = json(m.to_bytes());
                *resp.status_mut() = status(m);
                resp
            }
            None => http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                moat_proto::codes::INTERNAL_ERROR,
                "no response",
            ),
        }
    }
}

fn stream_rest(
    done: Vec<Message>,
    first: Message,
    rx: mpsc::UnboundedReceiver<Message>,
    expected: usize,
) -> HttpResponse {
    let already = done.len();
    let head = futures::stream::iter(done.into_iter().chain(std::iter::once(first)));
    // Ends right after the last response, without waiting for the channel to close.
    let tail = futures::stream::unfold((rx, already), move |(mut rx, seen)| async move {
        if seen >= expected {
            return None;
        }
        let msg = rx.recv().await?;
        let seen = seen + usize::from(matches!(msg, Message::Response(_)));
        Some((msg, (rx, seen)))
    });
    sse(head.chain(tail))
}
