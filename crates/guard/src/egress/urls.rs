//! Finding the URLs among a tool call's arguments.

use serde_json::Value;

/// Formats that declare a string a URL. The `-reference` ones may also hold a relative
/// reference, which names no host of its own.
const URL_FORMATS: &[&str] = &["uri", "iri", "url"];
const REFERENCE_FORMATS: &[&str] = &["uri-reference", "iri-reference"];

/// How deep `anyOf`/`oneOf`/`allOf` are followed to find a property's schema. Schemas come
/// from the upstream; a cycle-free one this deep is not written by hand.
const SCHEMA_DEPTH: usize = 8;

/// The strings in `value` that hold URLs, each with its JSON pointer (RFC 6901): those the
/// `schema` (the tool's `inputSchema`) declares a URL by `format`, and any that starts as an
/// absolute URL does once the WHATWG parser has dropped what it drops (leading spaces and
/// controls, tabs and newlines): `scheme://`, or a scheme the parser knows (`http:host`
/// parses as `http://host`). A URL later in a text is not one a tool would fetch as given.
///
/// The value is walked with an explicit stack, so no nesting depth overflows the thread's.
pub fn urls_in(value: &Value, schema: Option<&Value>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), value, schema)];
    while let Some((pointer, value, schema)) = stack.pop() {
        match value {
            Value::String(s) => {
                if declared_url(s, schema) || looks_like_url(s) {
                    found.push((pointer, s.clone()));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    let child = schema.and_then(|s| item_schema(s, i, 0));
                    stack.push((format!("{pointer}/{i}"), item, child));
                }
            }
            Value::Object(map) => {
                // Pushed in reverse so results come out in document order.
                for (key, item) in map.iter().rev() {
                    let child = schema.and_then(|s| property_schema(s, key, 0));
                    stack.push((format!("{pointer}/{}", escape(key)), item, child));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    found
}

fn declared_url(s: &str, schema: Option<&Value>) -> bool {
    let Some(format) = schema.and_then(|s| format_of(s, 0)) else {
        return false;
    };
    if URL_FORMATS.contains(&format) {
        return !s.is_empty();
    }
    // A relative reference (`docs/a.md`, `#top`) resolves against a base the tool knows;
    // only one that brings its own host (`//host/x`, `http://host/x`) leads elsewhere.
    REFERENCE_FORMATS.contains(&format) && {
        let start: String = parser_view(s).take(2).collect();
        matches!(start.as_str(), "//" | "\\\\" | "/\\" | "\\/")
            || scheme_of(&mut parser_view(s)).is_some()
    }
}

/// `format` of a schema or of any branch of its combinators.
fn format_of(schema: &Value, depth: usize) -> Option<&str> {
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        return Some(format);
    }
    branches(schema, depth).find_map(|b| format_of(b, depth + 1))
}

fn property_schema<'a>(schema: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
    let own = schema
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
    own.or_else(|| branches(schema, depth).find_map(|b| property_schema(b, key, depth + 1)))
}

fn item_schema(schema: &Value, index: usize, depth: usize) -> Option<&Value> {
    let own = schema
        .get("prefixItems")
        .and_then(|p| p.get(index))
        .or_else(|| schema.get("items").filter(|i| i.is_object()));
    own.or_else(|| branches(schema, depth).find_map(|b| item_schema(b, index, depth + 1)))
}

/// The subschemas of `anyOf`, `oneOf` and `allOf`, none past [`SCHEMA_DEPTH`].
fn branches(schema: &Value, depth: usize) -> impl Iterator<Item = &Value> {
    ["anyOf", "oneOf", "allOf"]
        .into_iter()
        .filter(move |_| depth < SCHEMA_DEPTH)
        .filter_map(|k| schema.get(k).and_then(Value::as_array))
        .flatten()
}

fn looks_like_url(s: &str) -> bool {
    let mut chars = parser_view(s);
    let Some(scheme) = scheme_of(&mut chars) else {
        return false;
    };
    // The parser takes `\` for `/` in the schemes it knows, and needs no slashes there.
    is_special(&scheme) || (chars.next() == Some('/') && chars.next() == Some('/'))
}

/// `s` as the parser reads it: without leading C0 controls and spaces, and without tabs and
/// newlines anywhere. Lazy, since only the start of a long string is ever looked at.
fn parser_view(s: &str) -> impl Iterator<Item = char> {
    s.trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
}

/// Longest scheme read: registered schemes are far shorter, and a long word (a token, a base64
/// run) is not read to its end on every string.
const MAX_SCHEME: usize = 32;

/// The scheme `chars` start with, lowered, consuming it and its `:`.
fn scheme_of(chars: &mut impl Iterator<Item = char>) -> Option<String> {
    let first = chars.next().filter(char::is_ascii_alphabetic)?;
    let mut scheme = String::from(first.to_ascii_lowercase());
    for c in chars {
        match c {
            ':' => return Some(scheme),
            c if scheme.len() < MAX_SCHEME && (c.is_ascii_alphanumeric() || "+-.".contains(c)) => {
                scheme.push(c.to_ascii_lowercase());
            }
            _ => return None,
        }
    }
    None
}

fn is_special(scheme: &str) -> bool {
    super::is_special(scheme)
}

/// A key as a JSON pointer token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
