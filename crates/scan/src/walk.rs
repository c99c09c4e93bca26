//! Every string of a definition, with its JSON path and the kind of place it sits in.

use serde_json::Value;

/// Deeper nesting is not walked: no real schema needs it, and it bounds the work.
const MAX_DEPTH: usize = 64;

/// The kind of place a string sits in, which decides which rules apply and how strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The definition's `name`, or a prompt argument's `name`.
    Name,
    /// A property name in a schema (`properties`, `$defs` keys).
    Key,
    /// A `description`: prose the model reads.
    Prose,
    /// A `title`: a short label.
    Title,
    /// A `default`, `const`, `example`, or an `enum` or `examples` entry, at any depth.
    Value,
    /// A regular expression (`pattern`): not prose, only checked for invisible characters.
    Pattern,
    /// Any other string (`type`, `format`, `required` entries, vendor extensions).
    Other,
}

impl Slot {
    /// Names and property keys: identifiers the model matches on.
    pub(crate) fn is_identifier(self) -> bool {
        matches!(self, Self::Name | Self::Key)
    }

    /// Places where instructions have no business: values and titles.
    pub(crate) fn is_value_like(self) -> bool {
        matches!(self, Self::Value | Self::Title)
    }
}

/// One string found in a definition.
#[derive(Debug, Clone)]
pub(crate) struct Site<'a> {
    pub(crate) path: String,
    pub(crate) slot: Slot,
    pub(crate) text: &'a str,
}

/// Every string in `value` (object keys under `properties`-like maps too), in document order.
pub(crate) fn strings(value: &Value) -> Vec<Site<'_>> {
    let mut out = Vec::new();
    walk(value, &mut String::new(), Place::Root, &mut out, 0);
    out
}

/// What the value being walked is, from where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    /// A prompt's `arguments` list.
    Arguments,
    /// An element of a prompt's `arguments`.
    Argument,
    /// A map from names to schemas (`properties`, `$defs`).
    NameMap,
    /// Inside a `default`, `const`, `enum`, … : data, not schema.
    Value,
    Schema,
}

fn walk<'a>(
    value: &'a Value,
    path: &mut String,
    place: Place,
    out: &mut Vec<Site<'a>>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(text) => {
            let slot = if place == Place::Value {
                Slot::Value
            } else {
                Slot::Other
            };
            out.push(Site {
                path: path.clone(),
                slot,
                text,
            });
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let inner = match place {
                    Place::Value => Place::Value,
                    Place::Arguments => Place::Argument,
                    _ => Place::Schema,
                };
                walk(item, path, inner, out, depth + 1);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                let len = path.len();
                push_key(path, key);
                if place == Place::NameMap {
                    out.push(Site {
                        path: path.clone(),
                        slot: Slot::Key,
                        text: key,
                    });
                    walk(child, path, Place::Schema, out, depth + 1);
                } else {
                    visit_field(key, child, path, place, out, depth);
                }
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn visit_field<'a>(
    key: &str,
    child: &'a Value,
    path: &mut String,
    place: Place,
    out: &mut Vec<Site<'a>>,
    depth: usize,
) {
    if place == Place::Value {
        return walk(child, path, Place::Value, out, depth + 1);
    }
    if let Value::String(text) = child {
        let slot = match key {
            "name" if matches!(place, Place::Root | Place::Argument) => Slot::Name,
            "description" => Slot::Prose,
            "title" => Slot::Title,
            "default" | "const" | "example" => Slot::Value,
            "pattern" => Slot::Pattern,
            _ => Slot::Other,
        };
        out.push(Site {
            path: path.clone(),
            slot,
            text,
        });
        return;
    }
    let inner = match key {
        "default" | "const" | "example" | "enum" | "examples" => Place::Value,
        "properties" | "patternProperties" | "$defs" | "definitions" => Place::NameMap,
        "arguments" if place == Place::Root => Place::Arguments,
        _ => Place::Schema,
    };
    walk(child, path, inner, out, depth + 1);
}

/// Appends `.key`, or `["key"]` when the key is not a plain identifier.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'));
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str("[\"");
        path.push_str(&crate::evidence::visible(&key.replace('"', "\\\"")));
        path.push_str("\"]");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn find<'a>(sites: &'a [Site<'_>], path: &str) -> &'a Site<'a> {
        sites
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
    }

    #[test]
    fn paths_and_slots() {
        let tool = json!({
            "name": "t", "description": "d",
            "inputSchema": {"properties": {
                "mode": {"type": "string", "enum": ["a", "b", "c"], "default": "a", "title": "Mode"},
                "default": {"type": "string", "description": "a property called default"},
                "odd key": {"type": "string"}
            }},
            "arguments": [{"name": "text", "description": "x"}]
        });
        let sites = strings(&tool);
        assert_eq!(find(&sites, "name").slot, Slot::Name);
        assert_eq!(
            find(&sites, "inputSchema.properties.mode.enum[2]").slot,
            Slot::Value
        );
        assert_eq!(
            find(&sites, "inputSchema.properties.mode.default").slot,
            Slot::Value
        );
        assert_eq!(
            find(&sites, "inputSchema.properties.mode.title").slot,
            Slot::Title
        );
        assert_eq!(find(&sites, "inputSchema.properties.mode").slot, Slot::Key);
        assert_eq!(
            find(&sites, "inputSchema.properties.default.description").slot,
            Slot::Prose
        );
        assert_eq!(
            find(&sites, "inputSchema.properties[\"odd key\"]").slot,
            Slot::Key
        );
        assert_eq!(find(&sites, "arguments[0].name").slot, Slot::Name);
        assert_eq!(
            find(&sites, "inputSchema.properties.mode.type").slot,
            Slot::Other
        );
    }
}
