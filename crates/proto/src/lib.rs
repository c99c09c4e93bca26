//! The JSON-RPC 2.0 / MCP envelope.
//!
//! A message is parsed once into its envelope (id, method, and the raw payload). Payloads stay as
//! [`serde_json::value::RawValue`] so a message that no stage changes is re-emitted byte for byte,
//! without building a tree of its contents.

mod envelope;
mod error;
pub mod header_value;
mod params;
mod version;

pub use envelope::{Batch, EncodedParts, Id, Message, Notification, Request, Response, parse_body};
pub use error::{ErrorObject, ParseError, codes};
pub use params::{object_field, with_field};
pub use version::{ProtocolVersion, UnsupportedVersion};

/// Re-exported so users of this crate name one raw JSON type.
pub use serde_json::value::RawValue;
