//! The HTTP face of moat.

mod guard;
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
        .with_state(state)
}
