//! Turning what a session produces into HTTP responses: a JSON body when the answer is all there
//! is, an SSE stream when the server has more to say first.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response as HttpResponse};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderValue, StatusCode, header};
use http_body::{Frame, SizeHint};
use moat_proto::{ErrorObject, Message, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::session::{EventLog, frame, http_status as stateless_status};

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// From this size on, a result is sent from its own buffer instead of being copied into the
/// answer's (below it, one buffer and one write are cheaper).
const UNCOPIED_RESULT: usize = 64 * 1024;

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

/// A JSON answer of one message. A large result is not copied: the answer is written as the
/// message's head, the result's own buffer, and the closing brace, so a result held once in
/// memory is not held twice while it is sent.
fn json_message(msg: Message) -> HttpResponse {
    let large = matches!(&msg, Message::Response(r)
        if r.result.as_ref().is_some_and(|r| r.get().len() >= UNCOPIED_RESULT));
    if !large {
        return json(msg.to_bytes());
    }
    let parts = msg.into_parts();
    let mut pieces = VecDeque::with_capacity(3);
    pieces.push_back(Bytes::from(parts.head));
    if let Some(payload) = parts.payload {
        pieces.push_back(Bytes::from(payload.into_boxed_bytes()));
    }
    pieces.push_back(Bytes::from_static(parts.tail));
    let body = Body::new(Pieces(pieces));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A body of a few ready buffers whose total length is known, so it is sent with a
/// `Content-Length` like a single buffer would be.
struct Pieces(VecDeque<Bytes>);

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        let len: usize = self.0.iter().map(Bytes::len).sum();
        SizeHint::with_exact(u64::try_from(len).unwrap_or(u64::MAX))
    }
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

/// How answers are shaped for a kind of client.
#[derive(Clone, Copy)]
pub(crate) enum Shape<'a> {
    /// JSON while only responses arrive; the first notification or server request switches to
    /// SSE, resumable through the session's log when there is one.
    JsonFirst(Option<&'a Arc<EventLog>>),
    /// SSE at once, starting with a priming event, resumable (2025-11-25 sessions).
    Primed(&'a Arc<EventLog>),
    /// 2026-07-28: results as SSE, errors as JSON with the HTTP status the revision gives them.
    Stateless,
}

/// Collects the answers to `expected` requests from `rx` and shapes them as `shape` says for a
/// client that does (`sse_ok`) or does not accept an event stream. A batch answered as JSON is an
/// array.
pub(crate) async fn answer(
    mut rx: mpsc::UnboundedReceiver<Message>,
    expected: usize,
    batch: bool,
    sse_ok: bool,
    shape: Shape<'_>,
) -> HttpResponse {
    if let (true, Shape::Primed(log)) = (sse_ok, shape) {
        let rest = rest_of_stream(Vec::new(), None, rx, expected);
        return sse_body(UnboundedReceiverStream::new(log.start(rest, true).1));
    }
    let mut done = Vec::with_capacity(expected);
    while done.len() < expected {
        let Some(msg) = rx.recv().await else { break };
        if matches!(msg, Message::Response(_)) {
            done.push(msg);
        } else if sse_ok {
            let rest = rest_of_stream(done, Some(msg), rx, expected);
            return match shape {
                Shape::JsonFirst(Some(log)) | Shape::Primed(log) => {
                    sse_body(UnboundedReceiverStream::new(log.start(rest, false).1))
                }
                Shape::JsonFirst(None) | Shape::Stateless => sse(rest),
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
    let Some(only) = done.pop() else {
        return http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            moat_proto::codes::INTERNAL_ERROR,
            "no response",
        );
    };
    let Shape::Stateless = shape else {
        return json_message(only);
    };
    let status = stateless_status(&only);
    if sse_ok && status == StatusCode::OK {
        return sse(futures::stream::iter([only]));
    }
    let mut resp = json(only.to_bytes());
    *resp.status_mut() = status;
    resp
}

/// What was received so far, then everything up to and including the last response.
fn rest_of_stream(
    done: Vec<Message>,
    first: Option<Message>,
    rx: mpsc::UnboundedReceiver<Message>,
    expected: usize,
) -> impl Stream<Item = Message> + Send + 'static {
    let already = done.len();
    let head = futures::stream::iter(done.into_iter().chain(first));
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

#[cfg(test)]
mod tests {
    use http_body::Body as _;
    use moat_proto::{Id, RawValue};

    use super::*;

    #[tokio::test]
    async fn a_large_result_is_answered_with_the_same_bytes_and_length() {
        for size in [10, UNCOPIED_RESULT + 10] {
            let text = format!("{{\"text\":\"{}\"}}", "é".repeat(size / 2));
            let result = RawValue::from_string(text).unwrap();
            let msg = Message::from(Response::result(Id::Str("x".into()), result));
            let expected = msg.to_bytes();
            let resp = json_message(msg);
            let body = resp.into_body();
            assert_eq!(body.size_hint().exact(), Some(expected.len() as u64));
            let got = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            assert_eq!(got.as_ref(), expected.as_slice(), "size {size}");
        }
    }
}
