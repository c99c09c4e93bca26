//! What the user is asked and how their answer reads: the `elicitation/create` form that shows
//! the exact call, and the hash that binds a decision to its arguments.

use moat_proto::{ErrorObject, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Held, Party};

/// How much of the arguments the form shows.
const SHOWN_ARGUMENTS: usize = 2_000;

/// The user's answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Answer {
    pub(super) approve: bool,
    /// Hours the user allowed the tool without asking again (0: just this call).
    pub(super) remember_hours: u64,
    /// What happened, for the record.
    pub(super) note: String,
}

impl Answer {
    pub(super) fn refused(note: impl Into<String>) -> Self {
        Self {
            approve: false,
            remember_hours: 0,
            note: note.into(),
        }
    }
}

/// The `elicitation/create` params: the exact call, and how long to allow it without asking.
pub(super) fn elicitation_params(held: &Held, party: &Party, max_hours: u64) -> Value {
    let mut shown = held.arguments.to_string();
    if shown.len() > SHOWN_ARGUMENTS {
        let cut = (0..=SHOWN_ARGUMENTS)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    let who = match &party.user {
        Some(user) => format!("Agent {:?}, acting for {user:?},", party.agent),
        None => format!("Agent {:?}", party.agent),
    };
    let message = format!(
        "{who} asks to call {}/{} with arguments {shown}.\nmoat holds this call because {}. \
         Accept to allow this exact call once.",
        held.server, held.tool, held.reason
    );
    let mut properties = json!({});
    if max_hours > 0 {
        properties["remember_hours"] = json!({
            "type": "integer",
            "title": "Also allow this tool without asking for (hours)",
            "description": format!("0 asks again next time; at most {max_hours}"),
            "minimum": 0,
            "maximum": max_hours,
            "default": 0,
        });
    }
    json!({
        "message": message,
        "requestedSchema": {"type": "object", "properties": properties},
    })
}

/// Reads a client's answer to the form (a JSON-RPC response).
pub(super) fn read_response(response: &Response, max_hours: u64) -> Answer {
    let result = response
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    if let Some(result) = result {
        return read_result(&result, max_hours);
    }
    let error = response
        .error
        .as_deref()
        .and_then(|e| serde_json::from_str::<ErrorObject>(e.get()).ok());
    Answer::refused(error.map_or_else(
        || "the client's answer was not an elicitation result".to_owned(),
        |e| format!("the client could not ask the user: {}", e.message),
    ))
}

/// Reads an elicitation result: only `accept` approves.
pub(super) fn read_result(result: &Value, max_hours: u64) -> Answer {
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => Answer {
            approve: true,
            remember_hours: result
                .pointer("/content/remember_hours")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .min(max_hours),
            note: "accepted by the user".into(),
        },
        Some(action @ ("decline" | "cancel")) => {
            Answer::refused(format!("the user chose {action}"))
        }
        _ => Answer::refused("the client's answer named no action"),
    }
}

/// SHA-256 (hex) of the arguments' canonical JSON (object keys sorted), so two spellings of the
/// same arguments hash alike.
pub(crate) fn arguments_sha256(arguments: &Value) -> String {
    let digest = Sha256::digest(canonical(arguments).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use moat_proto::Id;

    use super::*;

    #[test]
    fn the_hash_ignores_key_order_but_not_values() {
        let a = json!({"b": [1, {"y": 2, "x": "é"}], "a": null});
        let b = json!({"a": null, "b": [1, {"x": "é", "y": 2}]});
        assert_eq!(arguments_sha256(&a), arguments_sha256(&b));
        assert_ne!(arguments_sha256(&a), arguments_sha256(&json!({"a": null})));
        assert_eq!(arguments_sha256(&a).len(), 64);
    }

    fn answer(result: Value) -> Response {
        Response::result(
            Id::Num(1),
            serde_json::value::to_raw_value(&result).expect("raw"),
        )
    }

    #[test]
    fn only_accept_approves_and_remembering_is_capped() {
        let accept = answer(json!({"action": "accept", "content": {"remember_hours": 99}}));
        let read = read_response(&accept, 8);
        assert!(read.approve);
        assert_eq!(read.remember_hours, 8);
        for refused in [
            json!({"action": "decline"}),
            json!({"action": "cancel"}),
            json!({}),
        ] {
            assert!(
                !read_response(&answer(refused.clone()), 8).approve,
                "{refused}"
            );
        }
        let error = Response::error(Some(Id::Num(1)), &ErrorObject::new(-1, "no UI"));
        let read = read_response(&error, 8);
        assert!(!read.approve && read.note.contains("no UI"), "{read:?}");
    }

    #[test]
    fn the_form_shows_the_call_and_offers_remembering_only_when_allowed() {
        let held = Held::new(
            "crm".into(),
            "refund".into(),
            json!({"amount": 500, "note": "x".repeat(5_000)}),
            vec!["approval:crm:destructive".into()],
            "crm/refund is destructive".into(),
        );
        let party = Party {
            agent: "bot".into(),
            user: Some("alice".into()),
        };
        let params = elicitation_params(&held, &party, 8);
        let message = params["message"].as_str().expect("message");
        assert!(
            message.contains("crm/refund") && message.contains("\"amount\":500"),
            "{message}"
        );
        assert!(
            message.contains("alice") && message.len() < 2_500,
            "{}",
            message.len()
        );
        assert_eq!(
            params["requestedSchema"]["properties"]["remember_hours"]["maximum"],
            8
        );
        let none = elicitation_params(&held, &party, 0);
        assert_eq!(none["requestedSchema"]["properties"], json!({}));
    }
}
