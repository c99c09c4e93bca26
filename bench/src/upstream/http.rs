//! The server over Streamable HTTP, stateless, directly on hyper: `POST /mcp` only (no session
//! id, no GET stream: 405), HTTP/1.1 keep-alive, `TCP_NODELAY`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Reply, Server};

/// How results are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `application/json` bodies (stateless JSON mode).
    Json,
    /// `tools/call` results as a one-event `text/event-stream`, as many SDK servers answer.
    Sse,
}

/// Serves `server` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, server: Server, framing: Framing) -> std::io::Result<()> {
    let server = Arc::new(server);
    loop {
        let (stream, _) = listener.accept().await?;
        // Without it a response written in two pieces can wait for a delayed ACK.
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| respond(server.clone(), framing, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond(
    server: Arc<Server>,
    framing: Framing,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
    };
    Ok(match server.handle(&body) {
        Reply::Accepted => status(StatusCode::ACCEPTED),
        Reply::Json(json) if framing == Framing::Sse && is_call(&body) => {
            let mut frame = Vec::with_capacity(json.len() + 24);
            frame.extend_from_slice(b"event: message\ndata: ");
            frame.extend_from_slice(&json);
            frame.extend_from_slice(b"\n\n");
            with_type(frame, "text/event-stream")
        }
        Reply::Json(json) => with_type(json, "application/json"),
    })
}

/// Whether the body is a `tools/call` (only those are framed as SSE, like SDK servers that
/// stream tool results).
fn is_call(body: &[u8]) -> bool {
    body.windows(12).any(|w| w == b"\"tools/call\"")
}

fn with_type(body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    resp
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = code;
    resp
}
