//! A definition as pinned: the fields that steer an agent, in RFC 8785 canonical form, and the
//! SHA-256 of that text. Other fields (`_meta`, icons) may change without a review.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What kind of definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A tool of `tools/list`.
    Tool,
    /// A prompt of `prompts/list`.
    Prompt,
    /// A resource template of `resources/templates/list`.
    ResourceTemplate,
}

impl Kind {
    /// The stored and printed text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::ResourceTemplate => "resource_template",
        }
    }

    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tool" => Some(Self::Tool),
            "prompt" => Some(Self::Prompt),
            "resource_template" => Some(Self::ResourceTemplate),
            _ => None,
        }
    }

    /// The member a listing names an entry by.
    pub fn name_field(self) -> &'static str {
        match self {
            Self::Tool | Self::Prompt => "name",
            Self::ResourceTemplate => "uriTemplate",
        }
    }

    /// The members that are pinned.
    fn pinned(self) -> &'static [&'static str] {
        match self {
            Self::Tool => &[
                "name",
                "title",
                "description",
                "inputSchema",
                "outputSchema",
                "annotations",
            ],
            Self::Prompt => &["name", "title", "description", "arguments"],
            Self::ResourceTemplate => &[
                "uriTemplate",
                "name",
                "title",
                "description",
                "mimeType",
                "annotations",
            ],
        }
    }
}

/// A listing entry that cannot be pinned.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// Not a JSON object.
    #[error("a {0} definition must be a JSON object")]
    NotAnObject(&'static str),
    /// Without the member that names it.
    #[error("a {kind} definition has no {field} string")]
    Unnamed {
        /// The kind.
        kind: &'static str,
        /// The missing member.
        field: &'static str,
    },
    /// Canonicalisation failed (a number JSON cannot carry, for example).
    #[error("cannot canonicalise the {kind} {name:?}: {why}")]
    Canonical {
        /// The kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What the canonicaliser said.
        why: String,
    },
}

/// A pinned definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// What kind.
    pub kind: Kind,
    /// Its name (a template's URI template) on its server.
    pub name: String,
    /// The pinned members, RFC 8785 canonical JSON.
    pub canonical: String,
    /// SHA-256 of `canonical`, lower-case hex.
    pub sha256: String,
}

impl Definition {
    /// Pins a listing entry.
    pub fn of(kind: Kind, entry: &Value) -> Result<Self, DefinitionError> {
        let object = entry
            .as_object()
            .ok_or(DefinitionError::NotAnObject(kind.as_str()))?;
        let name = object
            .get(kind.name_field())
            .and_then(Value::as_str)
            .ok_or(DefinitionError::Unnamed {
                kind: kind.as_str(),
                field: kind.name_field(),
            })?
            .to_owned();
        let pinned: Map<String, Value> = kind
            .pinned()
            .iter()
            .filter_map(|k| object.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        let canonical =
            serde_json_canonicalizer::to_string(&Value::Object(pinned)).map_err(|e| {
                DefinitionError::Canonical {
                    kind: kind.as_str(),
                    name: name.clone(),
                    why: e.to_string(),
                }
            })?;
        let sha256 = hex(&Sha256::digest(canonical.as_bytes()));
        Ok(Self {
            kind,
            name,
            canonical,
            sha256,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn member_order_whitespace_and_meta_do_not_change_the_hash() {
        let a = json!({"name": "echo", "description": "Echoes", "inputSchema": {"type": "object", "properties": {"a": {"type": "string"}}}});
        let b: Value = serde_json::from_str(
            r#"{ "inputSchema": {"properties": {"a": {"type":"string"}}, "type":"object"},
                 "_meta": {"x": 1}, "icons": [], "description": "Echoes", "name": "echo" }"#,
        )
        .unwrap();
        let (a, b) = (
            Definition::of(Kind::Tool, &a).unwrap(),
            Definition::of(Kind::Tool, &b).unwrap(),
        );
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(
            a.canonical,
            r#"{"description":"Echoes","inputSchema":{"properties":{"a":{"type":"string"}},"type":"object"},"name":"echo"}"#
        );
    }

    #[test]
    fn every_pinned_member_changes_the_hash() {
        let base = json!({"name": "t", "title": "T", "description": "d",
            "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}});
        let pinned = Definition::of(Kind::Tool, &base).unwrap().sha256;
        for (field, other) in [
            ("title", json!("T2")),
            ("description", json!("d2")),
            ("inputSchema", json!({"type": "object", "required": ["x"]})),
            ("outputSchema", json!({"type": "string"})),
            ("annotations", json!({"readOnlyHint": false})),
        ] {
            let mut changed = base.clone();
            changed[field] = other;
            assert_ne!(
                Definition::of(Kind::Tool, &changed).unwrap().sha256,
                pinned,
                "{field}"
            );
        }
    }

    #[test]
    fn numbers_are_canonical_per_rfc_8785() {
        let d = Definition::of(
            Kind::Tool,
            &json!({"name": "n", "inputSchema": {"maximum": 1e2, "minimum": 0.5}}),
        )
        .unwrap();
        assert_eq!(
            d.canonical,
            r#"{"inputSchema":{"maximum":100,"minimum":0.5},"name":"n"}"#
        );
    }

    #[test]
    fn templates_are_named_by_their_uri_template_and_unnamed_entries_are_refused() {
        let d = Definition::of(
            Kind::ResourceTemplate,
            &json!({"uriTemplate": "file:///{path}", "name": "files"}),
        )
        .unwrap();
        assert_eq!(d.name, "file:///{path}");
        assert!(Definition::of(Kind::Prompt, &json!({"description": "x"})).is_err());
        assert!(Definition::of(Kind::Prompt, &json!("x")).is_err());
    }
}
