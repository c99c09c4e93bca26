//! The catalog's rules, without I/O: what a tool, prompt or resource template *is* for pinning
//! (its canonical definition and hash), where a definition stands (`pending`, `approved`,
//! `quarantined`, `rejected`), what happens when moat sees it for the first time or sees it
//! changed (a rug pull is quarantined at once), how two definitions differ, and the document an
//! approved catalog is exported as.
//!
//! The store keeps the rows and the gateway asks these functions what to do with them.

mod definition;
mod diff;
mod export;
mod pinning;
mod status;

pub use definition::{Definition, DefinitionError, Kind};
pub use diff::diff;
pub use export::{EXPORT_VERSION, Export, ExportedEntry, ExportedServer};
pub use pinning::{Observation, Vetting, observe};
pub use status::{ApprovalMode, EntryStatus, ServerStatus, StatusError};
