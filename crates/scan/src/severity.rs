//! How bad a finding is.

use serde::Serialize;

/// How much a finding should worry the operator, in increasing order.
///
/// `Low` is a fact worth knowing (a long description, a credential mentioned in passing);
/// `Medium` is suspicious wording a benign tool may still use; `High` is text that steers the
/// model against the user; `Critical` is that, made hard to see (invisible characters in a
/// name, smuggled tag text) or aimed at secrets and a way out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not suspicious alone.
    Low,
    /// Suspicious wording that benign tools sometimes use.
    Medium,
    /// Text that steers the model against the user.
    High,
    /// Steering that is hidden, or aimed at secrets and a way out together.
    Critical,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// One level up, saturating at `Critical`.
    pub fn raised(self) -> Self {
        match self {
            Self::Low => Self::Medium,
            Self::Medium => Self::High,
            Self::High | Self::Critical => Self::Critical,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_and_serialized_lowercase() {
        assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
        assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
        assert_eq!(Severity::Critical.raised(), Severity::Critical);
    }
}
