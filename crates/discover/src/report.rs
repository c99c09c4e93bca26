//! The reports `moat discover` prints as JSON: findings and probes, each with its registration.
//!
//! These shapes are the stable interface (documented in `docs/discovery.md`); `schema` names
//! their version and changes only when a field is removed or changes meaning.

use std::path::Path;

use serde::Serialize;

use crate::code::{Finding, Problem, Scan};
use crate::net::{PortState, Probe};
use crate::shadow::{KnownUpstream, Registration, register, target_of};

/// The `schema` of a code report.
pub const CODE_SCHEMA: &str = "moat.discover.code/v1";
/// The `schema` of a network report.
pub const NET_SCHEMA: &str = "moat.discover.net/v1";

/// A finding or probe with its registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessed<T> {
    /// The finding or probe; its fields sit beside `registration`.
    #[serde(flatten)]
    pub item: T,
    /// Shadow or registered (absent for ports where no MCP server answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// `moat discover code`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeReport {
    /// [`CODE_SCHEMA`].
    pub schema: &'static str,
    /// The scanned directory, as given.
    pub root: String,
    /// Every finding, by file then line.
    pub findings: Vec<Assessed<Finding>>,
    /// Files that could not be read as what their name says.
    pub problems: Vec<Problem>,
    /// Source files left unread for their size.
    pub skipped_large: usize,
    /// Counts.
    pub summary: Summary,
}

/// `moat discover net`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetReport {
    /// [`NET_SCHEMA`].
    pub schema: &'static str,
    /// Every open port (every port probed, with closed ones), by target then port.
    pub probes: Vec<Assessed<Probe>>,
    /// Counts.
    pub summary: Summary,
}

/// Counts of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// MCP servers found (findings, or ports where one answered).
    pub servers: usize,
    /// Of those, matched by no upstream.
    pub shadow: usize,
    /// Of those, matched by an upstream.
    pub registered: usize,
}

impl Summary {
    fn count<'a>(registrations: impl Iterator<Item = &'a Registration>) -> Self {
        let mut summary = Self::default();
        for r in registrations {
            summary.servers += 1;
            if r.is_shadow() {
                summary.shadow += 1;
            } else {
                summary.registered += 1;
            }
        }
        summary
    }
}

/// A scan's findings, each matched against `known`.
pub fn code_report(root: &Path, scan: Scan, known: &[KnownUpstream]) -> CodeReport {
    let findings: Vec<Assessed<Finding>> = scan
        .findings
        .into_iter()
        .map(|item| {
            // A declared URL no parser accepts can be reached by no upstream either.
            let registration =
                target_of(&item).map_or(Registration::Shadow, |t| register(&t, known));
            Assessed {
                item,
                registration: Some(registration),
            }
        })
        .collect();
    CodeReport {
        schema: CODE_SCHEMA,
        root: root.display().to_string(),
        summary: Summary::count(findings.iter().filter_map(|f| f.registration.as_ref())),
        findings,
        problems: scan.problems,
        skipped_large: scan.skipped_large,
    }
}

/// Probes, the MCP servers among them matched against `known`.
pub fn net_report(probes: Vec<Probe>, known: &[KnownUpstream]) -> NetReport {
    let probes: Vec<Assessed<Probe>> = probes
        .into_iter()
        .map(|item| {
            let registration = match (item.state, item.endpoint()) {
                (PortState::Mcp, Some(endpoint)) => {
                    Some(register(&crate::shadow::Target::Url(endpoint), known))
                }
                _ => None,
            };
            Assessed { item, registration }
        })
        .collect();
    NetReport {
        schema: NET_SCHEMA,
        summary: Summary::count(probes.iter().filter_map(|p| p.registration.as_ref())),
        probes,
    }
}
