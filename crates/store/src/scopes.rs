//! OAuth scope sets, stored in their canonical space-separated form (RFC 6749 §3.3).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A set of scope tokens, kept sorted so the stored text is canonical and comparable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// No scope at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a space-separated `scope` value; repeated or extra spaces are tolerated, a token
    /// with characters RFC 6749 does not allow is not.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        Self::from_tokens(text.split(' ').filter(|token| !token.is_empty()))
    }

    /// Builds a set from individual tokens, each checked against RFC 6749's `scope-token`.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.into();
            if !is_scope_token(&token) {
                return Err(StoreError::Invalid(format!("scope token {token:?}")));
            }
            set.insert(token);
        }
        Ok(Self(set))
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope of `other` is in this set.
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Reads the stored form back; a stored value that no longer parses is corruption.
    pub(crate) fn from_stored(text: &str) -> Result<Self, StoreError> {
        Self::parse(text).map_err(|_| StoreError::Corrupt(format!("stored scopes {text:?}")))
    }

    /// The canonical stored form: sorted tokens joined by single spaces.
    pub(crate) fn to_stored(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl TryFrom<Vec<String>> for Scopes {
    type Error = StoreError;

    fn try_from(tokens: Vec<String>) -> Result<Self, StoreError> {
        Self::from_tokens(tokens)
    }
}

impl From<Scopes> for Vec<String> {
    fn from(scopes: Scopes) -> Self {
        scopes.0.into_iter().collect()
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests;
