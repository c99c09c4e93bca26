//! MCP 2026-07-28 `x-mcp-header` annotations: tool arguments a client mirrors into
//! `Mcp-Param-<Name>` headers so intermediaries can route on them without parsing the body.

use serde_json::Value;

/// One annotated argument: its path below `arguments`, and the header suffix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamHeader {
    pub(crate) path: Vec<String>,
    pub(crate) header: String,
}

/// The annotated properties of a tool's `inputSchema`, found through nested `properties`.
pub(crate) fn annotations(input_schema: &Value) -> Vec<ParamHeader> {
    let mut out = Vec::new();
    collect(input_schema, &mut Vec::new(), &mut out);
    out
}

fn collect(schema: &Value, path: &mut Vec<String>, out: &mut Vec<ParamHeader>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, sub) in props {
        path.push(name.clone());
        if let Some(header) = sub.get("x-mcp-header").and_then(Value::as_str) {
            out.push(ParamHeader {
                path: path.clone(),
                header: header.to_owned(),
            });
        }
        collect(sub, path, out);
        path.pop();
    }
}

/// The header text of an argument: strings, booleans and numbers only.
pub(crate) fn value_of(arguments: Option<&Value>, path: &[String]) -> Option<String> {
    let mut v = arguments?;
    for key in path {
        v = v.get(key)?;
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_annotations_and_reads_values() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {"tier": {"type": "integer", "x-mcp-header": "Tier"}}},
            "plain": {"type": "string"}
        }});
        let a = annotations(&schema);
        assert_eq!(a.len(), 2);
        let args = json!({"region": "eu-west", "opts": {"tier": 3}});
        let find = |h: &str| a.iter().find(|p| p.header == h).unwrap().path.clone();
        assert_eq!(
            value_of(Some(&args), &find("Region")).as_deref(),
            Some("eu-west")
        );
        assert_eq!(value_of(Some(&args), &find("Tier")).as_deref(), Some("3"));
        assert_eq!(value_of(Some(&json!({})), &find("Tier")), None);
        assert_eq!(
            value_of(Some(&json!({"region": {"x": 1}})), &find("Region")),
            None
        );
    }
}
