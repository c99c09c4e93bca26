//! The approved catalog as a versioned document (`moat catalog export`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Kind, ServerStatus};

/// The document's format version; a reader refuses versions it does not know.
pub const EXPORT_VERSION: u32 = 1;

/// The approved catalog: every server that is not suspended, with its approved definitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// When it was written (RFC 3339).
    pub exported_at: String,
    /// The servers, by name.
    pub servers: Vec<ExportedServer>,
}

/// One server of the export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedServer {
    /// Its name in the config.
    pub name: String,
    /// Its status.
    pub status: ServerStatus,
    /// `stdio`, `http` or `sse`.
    pub transport: String,
    /// Its command line or URL.
    pub address: String,
    /// Who owns it, when the config says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Its sensitivity label, when the config gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its approved definitions.
    pub entries: Vec<ExportedEntry>,
}

/// One approved definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedEntry {
    /// What kind.
    pub kind: Kind,
    /// Its name on the server.
    pub name: String,
    /// SHA-256 of its canonical definition.
    pub sha256: String,
    /// Who approved it (`auto` for the server's rules).
    pub approved_by: String,
    /// When (RFC 3339).
    pub approved_at: String,
    /// The definition itself.
    pub definition: Value,
}
