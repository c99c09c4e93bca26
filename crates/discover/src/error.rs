//! The one error type of discovery.

use std::path::PathBuf;

/// Why a scan or a probe could not start. Problems with single files or single addresses are
/// not errors: they are reported beside the findings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory to scan cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The path to scan is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A target is neither an address, a CIDR block nor a host name.
    #[error("target {target:?}: {problem}")]
    Target {
        /// The target as given.
        target: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The targets name more addresses than allowed.
    #[error(
        "the targets name {count} addresses, more than the limit of {max}; narrow the CIDR blocks"
    )]
    TooManyAddresses {
        /// How many they name.
        count: u128,
        /// The limit.
        max: u64,
    },
    /// Addresses times ports is more probes than allowed.
    #[error(
        "{count} probes (addresses x ports), more than the limit of {max}; name fewer ports or addresses"
    )]
    TooManyProbes {
        /// How many.
        count: u128,
        /// The limit.
        max: u64,
    },
    /// A port list cannot be read.
    #[error("ports {spec:?}: {problem}")]
    Ports {
        /// The list as given.
        spec: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The HTTP client cannot be built (for HTTPS: no rustls crypto provider installed).
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}
