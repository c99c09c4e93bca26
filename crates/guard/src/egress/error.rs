//! Why a destination is refused, and why settings do not make rules.

use std::net::IpAddr;

use super::range::{Denial, DeniedRange};

/// A URL a tool may not reach. The message is for the caller: it names the URL (normalised,
/// credentials removed, cut at [`SHOWN_CHARS`]) and the reason; [`kind`](Self::kind) is the
/// stable label for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EgressViolation {
    /// Not a URL the parser accepts (relative, a bad host, a bad port...).
    #[error("{input} is not an absolute URL: {reason}")]
    Unparsable {
        /// The input, quoted and escaped.
        input: String,
        /// The parser's reason.
        reason: String,
    },
    /// A scheme outside the allowed ones.
    #[error("{url} uses the scheme {scheme:?}, which is not allowed (allowed: {allowed})")]
    Scheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
        /// The allowed schemes, comma-separated.
        allowed: String,
    },
    /// A user name or password in the URL.
    #[error("{url} carries credentials before its host, which are not allowed in a URL")]
    Credentials {
        /// The URL without them.
        url: String,
    },
    /// No host to connect to.
    #[error("{url} names no host")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// `localhost` or a name below it, which resolvers answer locally.
    #[error("{url} names {name}, which always means this machine")]
    LocalName {
        /// The URL.
        url: String,
        /// The name.
        name: String,
    },
    /// A host the tool's domain allowlist does not name.
    #[error("{url} names {host}, which is not on this tool's domain allowlist")]
    NotAllowlisted {
        /// The URL.
        url: String,
        /// The host, normalised.
        host: String,
    },
    /// An address literal in a denied range.
    #[error("{url} points to {addr}, {denial}")]
    DeniedLiteral {
        /// The URL.
        url: String,
        /// The address.
        addr: IpAddr,
        /// Why it is refused.
        denial: Denial,
    },
    /// A name that resolves to an address in a denied range (one is enough).
    #[error("{url} resolves to {addr}, {denial}")]
    DeniedResolved {
        /// The URL.
        url: String,
        /// The first denied address among those resolved.
        addr: IpAddr,
        /// Why it is refused.
        denial: Denial,
    },
    /// A name that resolved to nothing: there is nothing to vet, so nothing to allow.
    #[error("{url} resolves to no address")]
    Unresolved {
        /// The URL.
        url: String,
    },
}

/// The family of an [`EgressViolation`], for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// [`EgressViolation::Unparsable`].
    Unparsable,
    /// [`EgressViolation::Scheme`].
    Scheme,
    /// [`EgressViolation::Credentials`].
    Credentials,
    /// [`EgressViolation::NoHost`].
    NoHost,
    /// [`EgressViolation::LocalName`].
    LocalName,
    /// [`EgressViolation::NotAllowlisted`].
    NotAllowlisted,
    /// [`EgressViolation::DeniedLiteral`] and [`EgressViolation::DeniedResolved`].
    DeniedAddress,
    /// [`EgressViolation::Unresolved`].
    Unresolved,
}

impl ViolationKind {
    /// A stable name for metrics and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unparsable => "unparsable",
            Self::Scheme => "scheme",
            Self::Credentials => "credentials",
            Self::NoHost => "no_host",
            Self::LocalName => "local_name",
            Self::NotAllowlisted => "not_allowlisted",
            Self::DeniedAddress => "denied_address",
            Self::Unresolved => "unresolved",
        }
    }
}

impl EgressViolation {
    /// The family, for metrics.
    pub fn kind(&self) -> ViolationKind {
        match self {
            Self::Unparsable { .. } => ViolationKind::Unparsable,
            Self::Scheme { .. } => ViolationKind::Scheme,
            Self::Credentials { .. } => ViolationKind::Credentials,
            Self::NoHost { .. } => ViolationKind::NoHost,
            Self::LocalName { .. } => ViolationKind::LocalName,
            Self::NotAllowlisted { .. } => ViolationKind::NotAllowlisted,
            Self::DeniedLiteral { .. } | Self::DeniedResolved { .. } => {
                ViolationKind::DeniedAddress
            }
            Self::Unresolved { .. } => ViolationKind::Unresolved,
        }
    }

    /// The denied range, for an address refused; a finer metrics label than the kind.
    pub fn range(&self) -> Option<DeniedRange> {
        match self {
            Self::DeniedLiteral { denial, .. } | Self::DeniedResolved { denial, .. } => {
                Some(denial.range)
            }
            _ => None,
        }
    }
}

/// Settings that do not make [`EgressRules`](super::EgressRules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EgressRulesError {
    /// A scheme that is not one (`http`, `https`, `ftp`...).
    #[error("egress scheme {0:?} is not a URL scheme")]
    Scheme(String),
    /// A domain allowlist entry that is not a host pattern.
    #[error("egress domain pattern {pattern:?} is invalid: {reason}")]
    Pattern {
        /// The entry.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// An allowed network that is not a CIDR block.
    #[error("egress allowed network {network:?} is invalid: {reason}")]
    Network {
        /// The entry.
        network: String,
        /// Why.
        reason: String,
    },
}

/// How much of a URL a message shows: enough to recognise it, not a megabyte of query.
pub const SHOWN_CHARS: usize = 200;

/// `text` cut at [`SHOWN_CHARS`], with an ellipsis when cut.
pub(super) fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
