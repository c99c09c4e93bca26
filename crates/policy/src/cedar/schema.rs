//! The Cedar schema moat generates: the entity types and actions of its model, which every
//! policy file is validated against at load.

use serde_json::{Value, json};

/// Actions Cedar policies are written for, with the resource types each applies to.
pub(crate) const ACTIONS: &[(&str, &[&str])] = &[
    ("call", &["Tool"]),
    ("get", &["Prompt"]),
    ("read", &["Resource"]),
    ("subscribe", &["Resource"]),
    ("complete", &["Prompt", "Resource"]),
];

fn set_of_strings() -> Value {
    json!({"type": "Set", "element": {"type": "String"}})
}

fn string() -> Value {
    json!({"type": "String"})
}

fn record(attributes: Value) -> Value {
    json!({"type": "Record", "attributes": attributes})
}

/// The schema in Cedar's JSON form.
pub(crate) fn schema_json() -> Value {
    let principal = record(json!({
        "scopes": set_of_strings(),
        "roles": set_of_strings(),
        "groups": set_of_strings(),
    }));
    let target = |name_attr: &str| {
        let mut attrs = json!({
            "server": string(),
            "label": string(),
        });
        attrs[name_attr] = string();
        attrs
    };
    let mut tool = target("name");
    tool["read_only"] = json!({"type": "Boolean"});
    tool["destructive"] = json!({"type": "Boolean"});
    // Tool arguments differ per tool and are known only from the upstream's listing (Cedar has
    // no open records), so `arguments` is declared empty and accesses below it are let through
    // validation (see `is_argument_access`); their types are checked when a call is decided.
    let context = record(json!({
        "arguments": record(json!({})),
        "time": {"type": "Long"},
        "hour": {"type": "Long"},
        "weekday": {"type": "Long"},
        "source_ip": {"type": "Extension", "name": "ipaddr"},
        "session": string(),
    }));
    let actions: serde_json::Map<String, Value> = ACTIONS
        .iter()
        .map(|(name, resources)| {
            (
                (*name).to_owned(),
                json!({"appliesTo": {
                    "principalTypes": ["Agent", "User"],
                    "resourceTypes": resources,
                    "context": context,
                }}),
            )
        })
        .collect();
    json!({"": {
        "entityTypes": {
            "Group": {},
            "Agent": {"shape": principal},
            "User": {"memberOfTypes": ["Group"], "shape": principal},
            "Server": {"shape": record(json!({"label": string(), "trusted": {"type": "Boolean"}}))},
            "Tool": {"memberOfTypes": ["Server"], "shape": record(tool)},
            "Prompt": {"memberOfTypes": ["Server"], "shape": record(target("name"))},
            "Resource": {"memberOfTypes": ["Server"], "shape": record(target("uri"))},
        },
        "actions": actions,
    }})
}
