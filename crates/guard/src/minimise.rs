//! Context minimisation: a tool result cut down to what the task needs before it reaches the
//! agent's context — fields of `structuredContent` kept or removed by path, and the whole result
//! held to a size, its text truncated with an explicit marker or refused.

use serde_json::{Map, Value};

/// A dotted path into `structuredContent` (`customer.address.street`); it applies through
/// arrays, to every element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        parts.iter().all(|p| !p.is_empty()).then_some(Self(parts))
    }
}

/// What happens to a result over its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Text is cut, later content dropped, and a marker says how much.
    #[default]
    Truncate,
    /// The result is replaced by a tool error.
    Error,
}

/// How one tool's results are minimised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultShape {
    pub max_bytes: Option<usize>,
    pub over: Overflow,
    /// When not empty, only these fields of `structuredContent` are kept.
    pub allow: Vec<FieldPath>,
    /// These fields of `structuredContent` are removed.
    pub deny: Vec<FieldPath>,
}

/// What [`ResultShape::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shaped {
    Unchanged,
    Changed {
        /// Fields removed from `structuredContent`.
        removed_fields: usize,
        /// Bytes the result had before truncation, when it was truncated.
        truncated_from: Option<usize>,
    },
    /// Over `max_bytes` and not truncatable (`over: error`, or structured content that alone
    /// is too large): the caller answers with an error instead.
    TooLarge {
        bytes: usize,
        max: usize,
    },
}

impl ResultShape {
    /// Minimises a `tools/call` result in place: [`Self::filter_fields`], then [`Self::fit`].
    /// (The gateway runs the two apart: fields go before anything else reads the result, the
    /// size is held after everything that may add to it.)
    pub fn apply(&self, result: &mut Map<String, Value>) -> Shaped {
        let removed_fields = self.filter_fields(result);
        match self.fit(result) {
            Shaped::Unchanged if removed_fields == 0 => Shaped::Unchanged,
            Shaped::Unchanged => Shaped::Changed {
                removed_fields,
                truncated_from: None,
            },
            Shaped::Changed { truncated_from, .. } => Shaped::Changed {
                removed_fields,
                truncated_from,
            },
            too_large => too_large,
        }
    }

    /// Holds the result to `max_bytes`: truncated with a marker, or too large.
    pub fn fit(&self, result: &mut Map<String, Value>) -> Shaped {
        let Some(max) = self.max_bytes else {
            return Shaped::Unchanged;
        };
        let bytes = size(result);
        if bytes <= max {
            return Shaped::Unchanged;
        }
        if self.over == Overflow::Error || !truncate(result, bytes, max) {
            return Shaped::TooLarge { bytes, max };
        }
        Shaped::Changed {
            removed_fields: 0,
            truncated_from: Some(bytes),
        }
    }

    /// Applies the field lists to `structuredContent`, and to the text block that carries the
    /// same JSON (the spec asks servers to send both), so nothing removed survives as text.
    /// Returns how many fields went.
    pub fn filter_fields(&self, result: &mut Map<String, Value>) -> usize {
        if self.allow.is_empty() && self.deny.is_empty() {
            return 0;
        }
        let Some(structured) = result.get_mut("structuredContent") else {
            return 0;
        };
        let original = structured.clone();
        let mut removed = 0;
        if !self.allow.is_empty() {
            removed += keep_only(structured, &self.allow);
        }
        for path in &self.deny {
            removed += remove(structured, &path.0);
        }
        if removed == 0 {
            return 0;
        }
        let filtered = structured.to_string();
        if let Some(Value::Array(content)) = result.get_mut("content") {
            for block in content {
                let is_copy = block.get("type").and_then(Value::as_str) == Some("text")
                    && block
                        .get("text")
                        .and_then(Value::as_str)
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                        .is_some_and(|v| v == original);
                if is_copy {
                    block["text"] = Value::String(filtered.clone());
                }
            }
        }
        removed
    }
}

fn size(result: &Map<String, Value>) -> usize {
    serde_json::to_string(result).map_or(usize::MAX, |s| s.len())
}

/// Keeps only the `allowed` paths of `value`; returns how many fields went.
fn keep_only(value: &mut Value, allowed: &[FieldPath]) -> usize {
    let paths: Vec<&[String]> = allowed.iter().map(|p| p.0.as_slice()).collect();
    keep(value, &paths)
}

fn keep(value: &mut Value, paths: &[&[String]]) -> usize {
    match value {
        Value::Array(items) => items.iter_mut().map(|v| keep(v, paths)).sum(),
        Value::Object(members) => {
            let before = members.len();
            members.retain(|k, _| paths.iter().any(|p| p.first() == Some(k)));
            let mut removed = before - members.len();
            for (k, v) in members.iter_mut() {
                let deeper: Vec<&[String]> = paths
                    .iter()
                    .filter(|p| p.first() == Some(k))
                    .map(|p| &p[1..])
                    .collect();
                // A path that ends here keeps the whole member.
                if deeper.iter().all(|p| !p.is_empty()) {
                    removed += keep(v, &deeper);
                }
            }
            removed
        }
        _ => 0,
    }
}

fn remove(value: &mut Value, path: &[String]) -> usize {
    match (value, path) {
        (Value::Array(items), _) => items.iter_mut().map(|v| remove(v, path)).sum(),
        (Value::Object(members), [last]) => usize::from(members.remove(last).is_some()),
        (Value::Object(members), [first, rest @ ..]) => {
            members.get_mut(first).map_or(0, |v| remove(v, rest))
        }
        _ => 0,
    }
}

/// Cuts the text of `content` so the result fits `max`, dropping what follows the cut and
/// saying so in a last text block. `false` when it cannot fit (what remains beside the text,
/// `structuredContent` say, is too large alone).
fn truncate(result: &mut Map<String, Value>, bytes: usize, max: usize) -> bool {
    let marker = |kept: usize| {
        Value::from(format!(
            "[moat: result truncated to {kept} of {bytes} bytes (limit {max})]"
        ))
    };
    let Some(Value::Array(content)) = result.remove("content") else {
        return false;
    };
    result.insert("content".into(), Value::Array(Vec::new()));
    // What the result costs without its content, with room for the marker block.
    let fixed = size(result) + 64 + marker(bytes).to_string().len();
    let Some(mut budget) = max.checked_sub(fixed) else {
        return false;
    };
    let mut kept = Vec::new();
    for mut block in content {
        let cost = block.to_string().len() + 1;
        if cost <= budget {
            budget -= cost;
            kept.push(block);
            continue;
        }
        // The block that crosses the limit: a text block keeps what fits of its text.
        if let Some(Value::String(text)) = block.get_mut("text") {
            let overhead = cost - Value::from(text.as_str()).to_string().len();
            if let Some(room) = budget.checked_sub(overhead) {
                cut_to(text, room);
                if !text.is_empty() {
                    kept.push(block);
                }
            }
        }
        break;
    }
    let kept_bytes = kept.iter().map(|b| b.to_string().len()).sum();
    kept.push(serde_json::json!({"type": "text", "text": marker(kept_bytes)}));
    result.insert("content".into(), Value::Array(kept));
    size(result) <= max
}

/// Shortens `text` so its JSON string form is at most `room` bytes, at a character boundary.
fn cut_to(text: &mut String, room: usize) {
    let mut end = 0;
    let mut cost = 2; // the quotes
    for (i, c) in text.char_indices() {
        let c_cost = match c {
            '"' | '\\' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if cost + c_cost > room {
            break;
        }
        cost += c_cost;
        end = i + c.len_utf8();
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(list: &[&str]) -> Vec<FieldPath> {
        list.iter().map(|p| FieldPath::parse(p).unwrap()).collect()
    }

    fn result(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn denied_fields_go_from_structured_content_and_its_text_copy() {
        let structured = json!({"customers": [{"name": "A", "ssn": "x"}, {"name": "B", "ssn": "y"}], "total": 2});
        let mut r = result(json!({
            "content": [{"type": "text", "text": structured.to_string()}, {"type": "text", "text": "note"}],
            "structuredContent": structured,
        }));
        let shape = ResultShape {
            deny: paths(&["customers.ssn"]),
            ..Default::default()
        };
        assert_eq!(
            shape.apply(&mut r),
            Shaped::Changed {
                removed_fields: 2,
                truncated_from: None
            }
        );
        assert_eq!(
            r["structuredContent"],
            json!({"customers": [{"name": "A"}, {"name": "B"}], "total": 2})
        );
        let copy: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(copy, r["structuredContent"]);
        assert_eq!(r["content"][1]["text"], "note", "other text is untouched");
    }

    #[test]
    fn an_allowlist_keeps_only_its_paths() {
        let mut r = result(json!({"content": [], "structuredContent": {
            "id": 7, "customer": {"name": "A", "email": "a@x", "address": {"city": "C", "street": "S"}}, "debug": {}
        }}));
        let shape = ResultShape {
            allow: paths(&["id", "customer.name", "customer.address"]),
            ..Default::default()
        };
        assert!(matches!(
            shape.apply(&mut r),
            Shaped::Changed {
                removed_fields: 2,
                ..
            }
        ));
        assert_eq!(
            r["structuredContent"],
            json!({"id": 7, "customer": {"name": "A", "address": {"city": "C", "street": "S"}}})
        );
    }

    #[test]
    fn long_text_is_truncated_with_a_marker_and_fits() {
        let long = "é".repeat(5000) + "\"quoted\"";
        let mut r = result(json!({"content": [
            {"type": "text", "text": "head"},
            {"type": "text", "text": long},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"}
        ]}));
        let before = size(&r);
        let shape = ResultShape {
            max_bytes: Some(1000),
            ..Default::default()
        };
        assert_eq!(
            shape.apply(&mut r),
            Shaped::Changed {
                removed_fields: 0,
                truncated_from: Some(before)
            }
        );
        assert!(size(&r) <= 1000, "{}", size(&r));
        let content = r["content"].as_array().unwrap();
        assert_eq!(content[0]["text"], "head");
        assert!(content[1]["text"].as_str().unwrap().starts_with("éé"));
        let marker = content.last().unwrap()["text"].as_str().unwrap();
        assert!(
            marker.starts_with("[moat: result truncated to") && marker.contains("limit 1000"),
            "{marker}"
        );
        assert!(
            content.iter().all(|c| c["type"] != "image"),
            "what follows the cut is dropped"
        );
    }

    #[test]
    fn over_error_or_untruncatable_results_are_too_large() {
        let big = json!({"content": [{"type": "text", "text": "x".repeat(2000)}]});
        let error = ResultShape {
            max_bytes: Some(500),
            over: Overflow::Error,
            ..Default::default()
        };
        assert!(matches!(
            error.apply(&mut result(big.clone())),
            Shaped::TooLarge { max: 500, .. }
        ));
        let structured = json!({"content": [], "structuredContent": {"blob": "y".repeat(2000)}});
        let truncate = ResultShape {
            max_bytes: Some(500),
            ..Default::default()
        };
        assert!(matches!(
            truncate.apply(&mut result(structured)),
            Shaped::TooLarge { .. }
        ));
        let small = json!({"content": [{"type": "text", "text": "ok"}]});
        assert_eq!(truncate.apply(&mut result(small)), Shaped::Unchanged);
    }

    #[test]
    fn paths_need_every_part() {
        assert!(FieldPath::parse("a..b").is_none());
        assert!(FieldPath::parse("").is_none());
        assert_eq!(FieldPath::parse("a.b").unwrap().0, ["a", "b"]);
    }
}
