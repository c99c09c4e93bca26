//! Connections from moat to MCP servers.
//!
//! Every transport (stdio child process, Streamable HTTP, legacy HTTP+SSE) only moves messages;
//! [`Connection`] on top of it does what is the same for all: it numbers outgoing requests, matches
//! responses (in any order) to their callers, enforces the timeout, and hands server-initiated
//! requests and notifications to the gateway as [`Inbound`] events, tagged with the request they
//! belong to when the transport knows it.

mod connection;
mod credentials;
mod error;
pub mod fingerprint;
mod http;
mod legacy_sse;
mod plain;
mod sse;
mod stdio;

pub use connection::{CallOptions, Completer, ConnectOptions, Connection, Inbound, PendingCall};
pub use credentials::UpstreamTokens;
pub use error::{UpstreamError, UpstreamErrorKind};
pub use plain::PlainHttpClient;
pub use sse::{SseDecoder, SseEvent};
