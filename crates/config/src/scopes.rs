//! The scope dictionary: every scope moat knows, with what it means. Broad scopes (`*`,
//! `orders:*`) are refused unless the config says why they are needed.

use indexmap::IndexMap;

use crate::error::ConfigError;
use crate::raw::RawScope;

/// One declared scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeDef {
    /// The scope as tokens carry it.
    pub name: String,
    /// What it allows, for people.
    pub description: String,
    /// Why a broad scope is allowed; `Some` exactly for broad scopes.
    pub broad_because: Option<String>,
}

/// The declared scopes, in config order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeDictionary(Vec<ScopeDef>);

/// Whether a scope is a wildcard or catch-all.
pub fn is_broad(scope: &str) -> bool {
    scope.contains('*')
}

/// RFC 6749 §3.3 scope-token characters.
fn valid_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl ScopeDictionary {
    pub(crate) fn from_raw(raw: IndexMap<String, RawScope>) -> Result<Self, ConfigError> {
        let mut defs = Vec::with_capacity(raw.len());
        for (name, def) in raw {
            let at = format!("scopes.{name}");
            if !valid_token(&name) {
                return Err(ConfigError::new(
                    at,
                    "is not a valid scope (printable ASCII, no spaces, quotes or backslashes)",
                ));
            }
            let reason = def
                .broad_because
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            match (is_broad(&name), &reason) {
                (true, None) => {
                    return Err(ConfigError::new(
                        at,
                        "is a wildcard scope: least privilege needs narrow scopes; if it is really needed, say why in broad_because",
                    ));
                }
                (false, Some(_)) => {
                    return Err(ConfigError::new(
                        at,
                        "broad_because is only for wildcard scopes",
                    ));
                }
                _ => {}
            }
            defs.push(ScopeDef {
                name,
                description: def.description,
                broad_because: reason,
            });
        }
        Ok(Self(defs))
    }

    /// Whether no scopes are declared (then no scope is checked against the dictionary).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `scope` is declared.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|d| d.name == scope)
    }

    /// The declared scopes.
    pub fn iter(&self) -> impl Iterator<Item = &ScopeDef> {
        self.0.iter()
    }

    /// The scopes of `requested` that are not declared (empty when the dictionary is empty).
    pub fn undeclared<'a>(&self, requested: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        if self.is_empty() {
            return Vec::new();
        }
        requested
            .into_iter()
            .filter(|s| !self.contains(s))
            .collect()
    }

    /// Warnings for `moat check`: every broad scope, with the reason given for it.
    pub fn warnings(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|d| {
                let why = d.broad_because.as_deref()?;
                Some(format!("scope {:?} is broad: every grant of it is a grant of everything it covers (allowed because: {why})", d.name))
            })
            .collect()
    }
}
