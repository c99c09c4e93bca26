//! Size limits on what an agent sends a tool, checked before anything else reads the arguments
//! closely: how deep they nest, how long one string is, how many arguments there are.

use serde_json::Value;

/// Limits on one call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgumentLimits {
    /// Nesting of arrays and objects, the arguments object itself being depth 1.
    pub max_depth: usize,
    /// Bytes of any one string, object keys included.
    pub max_string_bytes: usize,
    /// Members of the arguments object.
    pub max_arguments: usize,
}

impl Default for ArgumentLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_string_bytes: 1024 * 1024,
            max_arguments: 256,
        }
    }
}

/// The first limit a call breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitViolation {
    #[error("the arguments nest deeper than {max} levels")]
    Depth { max: usize },
    #[error("a string at {path} is longer than {max} bytes")]
    StringLength { path: String, max: usize },
    #[error("{count} arguments, more than the {max} allowed")]
    Arguments { count: usize, max: usize },
}

impl LimitViolation {
    /// A stable name for metrics and the audit record.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Depth { .. } => "depth",
            Self::StringLength { .. } => "string_length",
            Self::Arguments { .. } => "arguments",
        }
    }
}

impl ArgumentLimits {
    pub fn check(&self, arguments: &Value) -> Result<(), LimitViolation> {
        if let Value::Object(m) = arguments
            && m.len() > self.max_arguments
        {
            return Err(LimitViolation::Arguments {
                count: m.len(),
                max: self.max_arguments,
            });
        }
        let mut path = Vec::new();
        self.walk(arguments, 1, &mut path)
    }

    fn walk<'v>(
        &self,
        value: &'v Value,
        depth: usize,
        path: &mut Vec<&'v str>,
    ) -> Result<(), LimitViolation> {
        let nests = matches!(value, Value::Array(_) | Value::Object(_));
        if nests && depth > self.max_depth {
            return Err(LimitViolation::Depth {
                max: self.max_depth,
            });
        }
        match value {
            Value::String(s) => self.string(s, path),
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| self.walk(item, depth + 1, path)),
            Value::Object(members) => members.iter().try_for_each(|(key, member)| {
                path.push(key);
                let checked = self
                    .string(key, path)
                    .and_then(|()| self.walk(member, depth + 1, path));
                path.pop();
                checked
            }),
            _ => Ok(()),
        }
    }

    fn string(&self, s: &str, path: &[&str]) -> Result<(), LimitViolation> {
        if s.len() <= self.max_string_bytes {
            return Ok(());
        }
        // The path names members only (array positions are not tracked: the limit is what matters).
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.iter().fold(String::new(), |p, k| p + "/" + k)
        };
        Err(LimitViolation::StringLength {
            path,
            max: self.max_string_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        (1..depth).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn depth_is_counted_from_the_arguments_object() {
        let limits = ArgumentLimits {
            max_depth: 4,
            ..Default::default()
        };
        assert_eq!(limits.check(&nested(4)), Ok(()));
        assert_eq!(
            limits.check(&nested(5)),
            Err(LimitViolation::Depth { max: 4 })
        );
        assert_eq!(
            limits.check(&json!({"a": [[[1]]]})),
            Ok(()),
            "scalars do not nest"
        );
        assert!(limits.check(&json!({"a": [[[[]]]]})).is_err());
    }

    #[test]
    fn long_strings_and_keys_are_named_by_their_place() {
        let limits = ArgumentLimits {
            max_string_bytes: 8,
            ..Default::default()
        };
        assert_eq!(limits.check(&json!({"q": "12345678"})), Ok(()));
        let err = limits
            .check(&json!({"outer": {"q": "123456789"}}))
            .unwrap_err();
        assert_eq!(
            err,
            LimitViolation::StringLength {
                path: "/outer/q".into(),
                max: 8
            }
        );
        assert_eq!(err.kind(), "string_length");
        assert!(limits.check(&json!({"a-very-long-key": 1})).is_err());
        assert!(limits.check(&json!({"list": ["x", "123456789"]})).is_err());
    }

    #[test]
    fn argument_count_is_limited() {
        let limits = ArgumentLimits {
            max_arguments: 2,
            ..Default::default()
        };
        assert_eq!(limits.check(&json!({"a": 1, "b": 2})), Ok(()));
        assert_eq!(
            limits.check(&json!({"a": 1, "b": 2, "c": 3})),
            Err(LimitViolation::Arguments { count: 3, max: 2 })
        );
    }
}
