//! Tool arguments held to the tool's own `inputSchema`. A schema without `$schema` is read as
//! JSON Schema 2020-12 (the MCP default); `pattern`s run on a linear-time regex engine, because a
//! schema comes from a server moat does not have to trust; references outside the schema are
//! not fetched. Violations name where and which rule, never the value, so they can go to the
//! agent, the log and the audit trail alike.

use serde_json::Value;

/// At most this many violations are reported for one call: enough to fix it, bounded for a hostile one.
const MAX_VIOLATIONS: usize = 16;

/// A compiled `inputSchema`.
pub struct ArgumentSchema {
    validator: jsonschema::Validator,
    /// The schema itself, for strict mode's walk over declared properties.
    schema: Value,
}

impl std::fmt::Debug for ArgumentSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgumentSchema").finish_non_exhaustive()
    }
}

/// One way the arguments break the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the arguments (`""` for the whole object).
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// A schema that cannot be compiled: calls of its tool cannot be checked, so they are refused.
#[derive(Debug, thiserror::Error)]
#[error("the tool's inputSchema is not a usable JSON Schema: {0}")]
pub struct SchemaError(String);

impl ArgumentSchema {
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        let mut options =
            jsonschema::options().with_pattern_options(jsonschema::PatternOptions::regex());
        if schema.get("$schema").is_none() {
            options = options.with_draft(jsonschema::Draft::Draft202012);
        }
        let validator = options
            .build(schema)
            .map_err(|e| SchemaError(e.masked().to_string()))?;
        Ok(Self {
            validator,
            schema: schema.clone(),
        })
    }

    /// The schema as the server wrote it.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// What is wrong with `arguments`, empty when nothing is. `strict` also refuses properties
    /// the schema does not declare (see [`undeclared`]).
    pub fn check(&self, arguments: &Value, strict: bool) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .validator
            .iter_errors(arguments)
            .take(MAX_VIOLATIONS)
            .map(|e| Violation {
                path: e.instance_path().to_string(),
                message: e.masked().to_string(),
            })
            .collect();
        if strict && out.len() < MAX_VIOLATIONS {
            let mut path = String::new();
            undeclared(&self.schema, arguments, &mut path, &mut out);
            out.truncate(MAX_VIOLATIONS);
        }
        out
    }
}

/// Strict mode: a member of an object whose schema lists `properties` must be one of them,
/// unless that schema itself says what else is allowed (`additionalProperties`,
/// `patternProperties`, `unevaluatedProperties`: the schema's own rule then stands). Declared
/// members are followed down; schemas composed with `$ref`/`allOf`/… are left to the validator.
fn undeclared(schema: &Value, value: &Value, path: &mut String, out: &mut Vec<Violation>) {
    let (Some(schema), Value::Object(members)) = (schema.as_object(), value) else {
        return;
    };
    let Some(Value::Object(declared)) = schema.get("properties") else {
        return;
    };
    let open = [
        "additionalProperties",
        "patternProperties",
        "unevaluatedProperties",
    ]
    .iter()
    .any(|k| schema.contains_key(*k));
    for (name, member) in members {
        let len = path.len();
        path.push('/');
        push_escaped(path, name);
        match declared.get(name) {
            Some(sub) => undeclared(sub, member, path, out),
            None if !open => out.push(Violation {
                path: path.clone(),
                message: "is not a property the tool declares (strict mode)".into(),
            }),
            None => {}
        }
        path.truncate(len);
        if out.len() >= MAX_VIOLATIONS {
            return;
        }
    }
}

/// RFC 6901 escaping of one pointer token.
fn push_escaped(path: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ArgumentSchema {
        ArgumentSchema::compile(&json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                "options": {"type": "object", "properties": {"recursive": {"type": "boolean"}}}
            },
            "required": ["path"]
        }))
        .unwrap()
    }

    #[test]
    fn valid_arguments_have_no_violations() {
        let s = schema();
        assert!(
            s.check(&json!({"path": "/tmp", "limit": 5}), true)
                .is_empty()
        );
        assert!(
            s.check(
                &json!({"path": "/tmp", "options": {"recursive": true}}),
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn every_violation_is_listed_with_its_place_and_without_the_value() {
        let s = schema();
        let v = s.check(&json!({"limit": "secret-4111111111111111"}), false);
        assert_eq!(v.len(), 2, "{v:?}");
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert!(
            paths.contains(&""),
            "missing required is reported at the root: {v:?}"
        );
        assert!(paths.contains(&"/limit"), "{v:?}");
        assert!(
            v.iter().all(|v| !v.message.contains("4111")),
            "values never echoed: {v:?}"
        );
        assert!(v.iter().any(|v| v.message.contains("path")), "{v:?}");
    }

    #[test]
    fn strict_mode_refuses_undeclared_properties_at_every_declared_level() {
        let s = schema();
        let args =
            json!({"path": "/", "extra": 1, "options": {"recursive": true, "follow/links": 1}});
        assert!(s.check(&args, false).is_empty(), "lenient by default");
        let v = s.check(&args, true);
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["/extra", "/options/follow~1links"]);
    }

    #[test]
    fn strict_mode_defers_to_a_schema_that_says_what_else_is_allowed() {
        let s = ArgumentSchema::compile(&json!({
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "integer"}
        }))
        .unwrap();
        assert!(s.check(&json!({"a": "x", "b": 2}), true).is_empty());
        assert_eq!(s.check(&json!({"a": "x", "b": "y"}), true).len(), 1);
    }

    #[test]
    fn default_draft_is_2020_12_and_a_declared_one_is_honoured() {
        // prefixItems exists only from 2020-12 on.
        let tuple = json!({"type": "array", "prefixItems": [{"type": "integer"}]});
        let s = ArgumentSchema::compile(&tuple).unwrap();
        assert_eq!(s.check(&json!(["x"]), false).len(), 1);
        let mut draft7 = tuple.clone();
        draft7["$schema"] = json!("http://json-schema.org/draft-07/schema#");
        let s = ArgumentSchema::compile(&draft7).unwrap();
        assert!(
            s.check(&json!(["x"]), false).is_empty(),
            "draft-07 ignores prefixItems"
        );
    }

    #[test]
    fn broken_schemas_and_remote_references_are_errors_not_passes() {
        assert!(ArgumentSchema::compile(&json!({"type": "no-such-type"})).is_err());
        assert!(
            ArgumentSchema::compile(&json!({"$ref": "https://example.com/schema.json"})).is_err()
        );
        // Backreferences need a backtracking engine, which moat does not run for strangers.
        assert!(ArgumentSchema::compile(&json!({"type": "string", "pattern": "(a)\\1"})).is_err());
    }

    #[test]
    fn violations_are_bounded() {
        let s = ArgumentSchema::compile(&json!({"type": "array", "items": {"type": "integer"}}))
            .unwrap();
        let many = Value::Array(vec![json!("x"); 1000]);
        assert_eq!(s.check(&many, false).len(), MAX_VIOLATIONS);
    }
}
