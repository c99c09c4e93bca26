//! Output formats, as pure functions from reports to text: [`table`] for people, [`json`] for
//! scripts, [`sarif`] (2.1.0) for code-scanning dashboards.

mod json;
mod sarif;
mod table;

pub use json::json;
pub use sarif::{SARIF_SCHEMA, sarif};
pub use table::table;
