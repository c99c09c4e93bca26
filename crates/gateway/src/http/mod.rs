//! The HTTP face of moat.

mod guard;
pub(crate) mod legacy_sse;
mod mcp;
mod reply;
mod stateless;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

pub(crate) use reply::http_error;

use crate::state::GatewayState;

/// The routes, inside out: authentication guards the MCP endpoints (not the metadata that tells
/// a client how to authenticate); the Host/Origin check guards everything.
pub(crate) fn router(state: Arc<GatewayState>) -> Router {
    let metadata = get(crate::auth::metadata);
    Router::new()
        .route("/mcp", post(mcp::post).get(mcp::get).delete(mcp::delete))
        .route("/sse", get(legacy_sse::open))
        .route("/message", post(legacy_sse::post))
        .route_layer(from_fn_with_state(state.clone(), crate::auth::layer))
        .route("/.well-known/oauth-protected-resource", metadata.clone())
        .route(
            "/.well-known/oauth-protected-resource/{*resource}",
            metadata,
        )
        .merge(crate::oauth::router(state.clone()))
        .layer(from_fn_with_state(state.clone(), guard::host_origin_layer))
        .with_state(state)
}

/// The client's address, as the listener (plain or TLS) accepted it; read by the
/// authentication layer for the policy's `source_ip`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) std::net::SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
