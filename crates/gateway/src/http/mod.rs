//! The HTTP face of moat.

mod guard;
pub(crate) mod legacy_sse;
mod mcp;
mod reply;
mod stateless;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

use crate::state::GatewayState;

pub(crate) fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/mcp", post(mcp::post).get(mcp::get).delete(mcp::delete))
        .route("/sse", axum::routing::get(legacy_sse::open))
        .route("/message", post(legacy_sse::post))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::host_origin_layer,
        ))
        .with_state(state)
}
