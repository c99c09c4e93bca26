//! Where a server or a definition stands, and how a server's new definitions are vetted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stored status text that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} status {text:?}")]
pub struct StatusError {
    what: &'static str,
    text: String,
}

/// Where one definition (a tool, prompt or resource template of one server) stands. Only
/// `Approved` is shown to agents or may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// Seen, waiting for an operator's decision.
    Pending,
    /// Approved as it is now (its hash is the approved one).
    Approved,
    /// Its definition changed after it was approved: hidden and refused until approved again.
    Quarantined,
    /// An operator refused it.
    Rejected,
}

/// Where a server stands. A suspended server's definitions are all hidden and refused,
/// whatever their own status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerStatus {
    /// Registered, not yet reviewed: its approved definitions may still be used.
    Pending,
    /// Reviewed and approved.
    Approved,
    /// Taken out of service by an operator, or because what it runs changed.
    Suspended,
}

/// How a server's new definitions are vetted (`upstreams.<s>.approval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// Every new definition waits for an operator (the default).
    #[default]
    Required,
    /// New definitions are approved when the poisoning scan finds nothing serious.
    Auto,
    /// As `Auto` for prompts, resource templates and the tools a trusted server marks
    /// read-only; other tools wait for an operator.
    ReadOnly,
}

macro_rules! text_enum {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+ $(,)?) => {
        impl $ty {
            /// The stored and printed text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl FromStr for $ty {
            type Err = StatusError;

            fn from_str(s: &str) -> Result<Self, StatusError> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(StatusError { what: $what, text: other.to_owned() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(EntryStatus, "definition",
    Pending => "pending", Approved => "approved", Quarantined => "quarantined", Rejected => "rejected");
text_enum!(ServerStatus, "server",
    Pending => "pending", Approved => "approved", Suspended => "suspended");
text_enum!(ApprovalMode, "approval", Required => "required", Auto => "auto", ReadOnly => "read_only");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_print() {
        for s in [
            EntryStatus::Pending,
            EntryStatus::Approved,
            EntryStatus::Quarantined,
            EntryStatus::Rejected,
        ] {
            assert_eq!(s.as_str().parse::<EntryStatus>().ok(), Some(s));
        }
        for s in [
            ServerStatus::Pending,
            ServerStatus::Approved,
            ServerStatus::Suspended,
        ] {
            assert_eq!(s.to_string().parse::<ServerStatus>().ok(), Some(s));
        }
        assert!("Approved".parse::<EntryStatus>().is_err());
        assert_eq!(
            "read_only".parse::<ApprovalMode>().ok(),
            Some(ApprovalMode::ReadOnly)
        );
    }
}
