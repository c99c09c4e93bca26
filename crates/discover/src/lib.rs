//! Discovery of shadow MCP servers: servers that run, or are about to, without moat in front.
//!
//! Two sources, one comparison:
//! - [`code::scan`] reads a source tree for MCP server implementations (uses of the official
//!   SDKs) and for client configurations that declare servers (Claude, Cursor, VS Code,
//!   Windsurf, Codex).
//! - [`net::probe`] asks addresses the user names whether an MCP server answers there.
//! - [`shadow`] compares both with the upstreams of a moat config: what matches none is
//!   `shadow`. [`report`] holds the stable JSON shapes the CLI prints.
//!
//! See `docs/discovery.md`.

#![warn(missing_docs)]

pub mod code;
mod error;
pub mod net;
pub mod report;
pub mod shadow;

pub use error::Error;
