//! Merging the `initialize` results of several servers into the one moat answers with.

use serde_json::{Map, Value, json};

/// The capabilities moat announces: the union of its servers'. A capability's boolean flags
/// (`listChanged`, `subscribe`) are true when any server sets them.
pub(crate) fn merge_capabilities<'a>(servers: impl Iterator<Item = &'a Value>) -> Value {
    let mut merged = Map::new();
    for caps in servers.filter_map(Value::as_object) {
        for (key, value) in caps {
            let slot = merged.entry(key.clone()).or_insert_with(|| json!({}));
            if let (Some(into), Some(from)) = (slot.as_object_mut(), value.as_object()) {
                for (flag, v) in from {
                    let keep_true = into.get(flag).and_then(Value::as_bool) == Some(true);
                    if !keep_true {
                        into.insert(flag.clone(), v.clone());
                    }
                }
            }
        }
    }
    Value::Object(merged)
}

/// The servers' instructions, each under its server's name.
pub(crate) fn merge_instructions<'a>(
    servers: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Option<String> {
    let parts: Vec<String> = servers
        .filter_map(|(name, result)| {
            Some(format!(
                "[{name}] {}",
                result.get("instructions")?.as_str()?
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_a_union_with_flags_ored() {
        let a = json!({"tools": {"listChanged": false}, "logging": {}});
        let b = json!({"tools": {"listChanged": true}, "resources": {"subscribe": true}});
        let m = merge_capabilities([&a, &b].into_iter());
        assert_eq!(
            m,
            json!({"tools": {"listChanged": true}, "logging": {}, "resources": {"subscribe": true}})
        );
    }

    #[test]
    fn instructions_name_their_server() {
        let a = json!({"instructions": "use x"});
        let b = json!({});
        assert_eq!(
            merge_instructions([("a", &a), ("b", &b)].into_iter()).as_deref(),
            Some("[a] use x")
        );
        assert_eq!(merge_instructions([("b", &b)].into_iter()), None);
    }
}
