//! Secret references: secrets never sit in the config file, only where to find them.

use std::fmt;
use std::path::PathBuf;

/// Where a secret lives.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:NAME`: an environment variable of the moat process.
    Env(String),
    /// `file:/path`: a file's contents, trailing newline removed.
    File(PathBuf),
}

/// A configured value that is either plain text or a reference to a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// Plain, non-secret text.
    Literal(String),
    /// A reference, resolved when the value is needed.
    Secret(SecretRef),
}

/// A secret reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set (or not Unicode).
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The file cannot be read.
    #[error("cannot read secret file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl SecretRef {
    /// Parses `env:NAME` or `file:/path`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(name) = s.strip_prefix("env:") {
            return (!name.is_empty()).then(|| Self::Env(name.to_owned()));
        }
        let path = s.strip_prefix("file:")?;
        (!path.is_empty()).then(|| Self::File(PathBuf::from(path)))
    }

    /// Reads the secret now.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            Self::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::MissingEnv(name.clone()))
            }
            Self::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| SecretError::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl Value {
    /// A reference if the text is one, otherwise a literal.
    pub fn parse(s: &str) -> Self {
        SecretRef::parse(s).map_or_else(|| Self::Literal(s.to_owned()), Self::Secret)
    }

    /// The value now.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            Self::Literal(s) => Ok(s.clone()),
            Self::Secret(r) => r.resolve(),
        }
    }
}

// Debug output never shows a secret's value, and shows references as written.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(n) => write!(f, "env:{n}"),
            Self::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(s) => write!(f, "{s:?}"),
            Self::Secret(r) => write!(f, "{r:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        assert_eq!(
            SecretRef::parse("env:TOKEN"),
            Some(SecretRef::Env("TOKEN".into()))
        );
        assert_eq!(
            SecretRef::parse("file:/run/s"),
            Some(SecretRef::File("/run/s".into()))
        );
        assert_eq!(SecretRef::parse("env:"), None);
        assert_eq!(SecretRef::parse("Bearer abc"), None);
        assert_eq!(Value::parse("debug"), Value::Literal("debug".into()));
    }

    #[test]
    fn resolves_files_and_reports_missing_ones() {
        let dir = std::env::temp_dir().join(format!("moat-secret-{}", std::process::id()));
        std::fs::write(&dir, "s3cret\n").unwrap();
        assert_eq!(SecretRef::File(dir.clone()).resolve().unwrap(), "s3cret");
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(
            SecretRef::File(dir).resolve(),
            Err(SecretError::Unreadable { .. })
        ));
        let missing = SecretRef::Env("MOAT_TEST_SURELY_UNSET_VAR".into()).resolve();
        assert_eq!(
            missing,
            Err(SecretError::MissingEnv("MOAT_TEST_SURELY_UNSET_VAR".into()))
        );
    }
}
