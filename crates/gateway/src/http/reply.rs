//! Turning what a session produces into HTTP responses: a JSON body when the answer is all there
//! is, an SSE stream when the server has more to say first.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response as HttpResponse};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderValue, StatusCode, header};
use moat_proto::{ErrorObject, Message, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::session::{EventLog, frame};

const KEEP_ALIVE: Duration = Duration::from_secs(15);

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

/// An event-stream response from ready frames, with keep-alive comments while it is quiet.
/// Frames are written by hand (not with axum's `Sse`) because a priming event needs an empty
/// `data:` line, which axum does not emit.
pub(crate) fn sse_body(frames: impl Stream<Item = Bytes> + Send + 'static) -> HttpResponse {
    let mut ticks = tokio::time::interval(KEEP_ALIVE);
    ticks.reset();
    let body = futures::stream::unfold(
        (Box::pin(frames), ticks),
        |(mut frames, mut ticks)| async move {
            let next = tokio::select! {
                f = frames.next() => f?,
                _ = ticks.tick() => Bytes::from_static(b": keep-alive\n\n"),
            };
            Some((Ok::<_, std::convert::Infallible>(next), (frames, ticks)))
        },
    );
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, Body::from_stream(body)).into_response()
}

/// An event stream of messages without event ids (nothing to resume).
pub(crate) fn sse(stream: impl Stream<Item = Message> + Send + 'static) -> HttpResponse {
    sse_body(stream.map(|m| frame(None, &m.to_json())))
}

/// Resumability of a session's streams: its event log, and whether to send priming events.
pub(crate) type Resumable<'a> = Option<(&'a Arc<EventLog>, bool)>;

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
    resumable: Resumable<'_>,
) -> HttpResponse {
    let mut done = Vec::with_capacity(expected);
    while done.len() < expected {
        let Some(msg) = rx.recv().await else { break };
        if matches!(msg, Message::Response(_)) {
            done.push(msg);
        } else if sse_ok {
            let rest = rest_of_stream(done, msg, rx, expected);
            return match resumable {
                Some((log, priming)) => {
                    sse_body(UnboundedReceiverStream::new(log.start(rest, priming).1))
                }
                None => sse(rest),
            };
        } else {
            tracing::debug!(
                "client does not accept SSE; dropped a {:?} message",
                msg.method()
            );
        }
    }
    if batch {
        let items: Vec<&Message> = done.iter().collect();
        return json(serde_json::to_vec(&items).unwrap_or_default());
    }
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

/// What was received so far, then everything up to and including the last response.
fn rest_of_stream(
    done: Vec<Message>,
    first: Message,
    rx: mpsc::UnboundedReceiver<Message>,
    expected: usize,
) -> impl Stream<Item = Message> + Send + 'static {
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
    head.chain(tail)
}
